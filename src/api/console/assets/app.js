// predial's compliance console: a client of the HTTP/JSON API and nothing more. Every
// action is an API call with the signed-in token in the Authorization header (never a
// cookie, never the URL), so the server's roles decide what it may do, and a page on
// another origin has no credential to borrow. Everything a consumer or a client wrote is
// put on the page as text (textContent), never as markup.

const state = {
  token: sessionStorage.getItem("predial.token") || "",
  operator: sessionStorage.getItem("predial.operator") || "",
  canWrite: false,
  role: "",
};

// ---- DOM -------------------------------------------------------------------------------

/** An element with attributes (`on*` are listeners) and children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A table that scrolls sideways on a narrow screen, reachable by keyboard to do so. */
function scroller(table) {
  return h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Table (scrolls sideways)" }, table);
}

let uid = 0;
/** A labelled input: the label's text is the control's visible name. */
function field(labelText, input, help) {
  const id = input.id || `f${++uid}`;
  input.id = id;
  const wrap = h("div", {}, h("label", { for: id }, labelText), input);
  if (help) wrap.append(h("div", { class: "muted" }, help));
  return wrap;
}

/** A labelled switch (a checkbox with role=switch), changed in place. */
function toggle(labelText, checked, onchange, disabled) {
  const id = `f${++uid}`;
  const box = h("input", { type: "checkbox", role: "switch", id, onchange, disabled });
  box.checked = !!checked;
  return h("div", { class: "switch" }, box, h("label", { for: id }, labelText));
}

function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  setTimeout(() => { if (t.textContent === text) t.textContent = ""; }, 6000);
}

function main() {
  return document.getElementById("main");
}

function show(...children) {
  const m = main();
  m.replaceChildren(...children);
}

// ---- The API ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const hs = { ...extra };
  if (state.token) hs.authorization = `Bearer ${state.token}`;
  return hs;
}

/** One call: JSON in and out; a failure is an ApiError with the server's message. */
async function api(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { "content-type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const text = await response.text();
  let json = {};
  try { json = text ? JSON.parse(text) : {}; } catch { json = { message: text }; }
  if (!response.ok) throw new ApiError(response.status, json.code, json.message || response.statusText);
  return json;
}

const enc = encodeURIComponent;

// ---- Signing in ------------------------------------------------------------------------

/** What the token may do, asked of the API itself: a read every console user needs, then
 *  a write refused before it does anything (an empty program is invalid). */
async function probe() {
  try {
    await api("GET", "/v1/dnc");
  } catch (e) {
    return e.status === 401 ? "signed-out" : e.status === 403 ? "no-console" : "error";
  }
  try {
    await api("POST", "/v1/programs", {});
    state.canWrite = true;
  } catch (e) {
    state.canWrite = e.status !== 403;
  }
  return "ok";
}

function signInPage(message) {
  const token = h("input", { type: "password", autocomplete: "off", required: true });
  const operator = h("input", { type: "text", autocomplete: "username", value: state.operator });
  const form = h("form", { class: "card", onsubmit: async (ev) => {
      ev.preventDefault();
      state.token = token.value.trim();
      state.operator = operator.value.trim();
      sessionStorage.setItem("predial.token", state.token);
      sessionStorage.setItem("predial.operator", state.operator);
      await start();
    } },
    h("h1", {}, "Sign in"),
    message ? h("p", { class: "error", role: "alert" }, message) : null,
    field("Token", token, "Kept for this tab only; never in a link or a log."),
    field("Your name (recorded with every change)", operator),
    h("p", {}, h("button", { type: "submit" }, "Sign in")));
  show(form);
  token.focus();
}

function signOut() {
  sessionStorage.removeItem("predial.token");
  state.token = "";
  state.canWrite = false;
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  signInPage();
}

function operatorId() {
  return state.operator || "console";
}

async function start() {
  const outcome = await probe();
  if (outcome === "signed-out") {
    if (state.token) sessionStorage.removeItem("predial.token");
    return signInPage(state.token ? "That token is not valid." : "");
  }
  if (outcome === "no-console") {
    document.getElementById("sign-out").hidden = false;
    return show(h("section", { class: "card" },
      h("h1", {}, "This token cannot use the console"),
      h("p", {}, "The console is for the people who answer for compliance: it needs an admin token, or an auditor token to read without changing anything. This token's role is a dialer's or an agent's, which may ask for decisions and record outcomes only."),
      h("p", {}, h("button", { type: "button", onclick: signOut }, "Sign in with another token"))));
  }
  if (outcome === "error") {
    return show(h("p", { class: "error", role: "alert" }, "The server did not answer. Reload to try again."));
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").hidden = false;
  document.getElementById("who").textContent =
    `${state.operator || "signed in"} · ${state.canWrite ? "may change" : "read only (auditor)"}`;
  route();
}

// ---- Routing ---------------------------------------------------------------------------

function route() {
  const [, page, arg] = (location.hash || "#/consumers").split("/");
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#/${page}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const pages = { consumers: consumersPage, rules: rulesPage, programs: programsPage, data: dataPage };
  (pages[page] || consumersPage)(arg ? decodeURIComponent(arg) : undefined);
  main().focus();
}

// ---- Consumers -------------------------------------------------------------------------

const LEVEL = { EXCLUSION_LEVEL_NONE: "None", EXCLUSION_LEVEL_PARTIAL: "Partial", EXCLUSION_LEVEL_FULL: "Full" };
const short = (value, prefix) => (value || "").replace(prefix, "").replaceAll("_", " ").toLowerCase();
const when = (ts) => (ts ? new Date(ts).toLocaleString() : "");

function consumersPage(id) {
  const input = h("input", { type: "search", name: "q", value: id || "", autocomplete: "off" });
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card", role: "search", onsubmit: (ev) => {
      ev.preventDefault();
      find(input.value.trim(), results);
    } },
    h("h1", {}, "Consumers"),
    h("div", { class: "row" }, field("Consumer or phone", input), h("div", {}, h("button", { type: "submit" }, "Find"))));
  show(form, results);
  if (id) openCard(id, results);
}

/** A phone number in any written form, or an id. */
async function find(text, into) {
  if (!text) return;
  const digits = text.replace(/[^0-9+]/g, "");
  if (digits.replace("+", "").length >= 10) {
    try {
      const found = await api("GET", `/v1/consumers?phone=${enc(text)}`);
      const consumers = found.consumers || [];
      if (consumers.length === 1) return openCard(consumers[0].id, into);
      if (consumers.length > 1) {
        return into.replaceChildren(h("section", { class: "card" }, h("h2", {}, `${consumers.length} consumers have ${text}`),
          h("ul", {}, consumers.map((c) => h("li", {}, h("a", { href: `#/consumers/${enc(c.id)}` }, c.id))))));
      }
    } catch (e) {
      if (e.status !== 400) return into.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    }
  }
  location.hash = `#/consumers/${enc(text)}`;
}

async function openCard(id, into) {
  let consumer;
  try {
    consumer = await api("GET", `/v1/consumers/${enc(id)}`);
  } catch (e) {
    return into.replaceChildren(h("p", { class: "error", role: "alert" },
      e.status === 404 ? `No consumer or number matches ${id}.` : e.message));
  }
  const card = h("div", { id: "card" });
  into.replaceChildren(card);
  await renderCard(consumer, card);
}

/** The card: profile and Check stay put; exclusions, counts and the trail are redrawn
 *  after every change, so an officer's Check inputs survive a switch flipped. */
async function renderCard(consumer, card) {
  const id = consumer.id;
  const exclusions = h("div");
  const counts = h("div");
  const trail = h("div");
  const refresh = async () => {
    const [status, standing, notes] = await Promise.all([
      api("GET", `/v1/consumers/${enc(id)}/exclusions`),
      api("GET", `/v1/consumers/${enc(id)}/standing`),
      allNotes(id),
    ]);
    exclusions.replaceChildren(exclusionSection(consumer, status, notes, refresh));
    counts.replaceChildren(countsSection(standing));
    trail.replaceChildren(trailSection(notes));
  };
  await refresh();
  card.replaceChildren(
    h("div", { class: "grid" }, profileSection(consumer), exclusions),
    counts,
    checkSection(consumer),
    trail);
}

function profileSection(c) {
  const rows = [
    ["Role", short(c.role, "ROLE_")],
    ["State", c.state], ["Country", c.country],
    ["Time zone", c.timeZone], ["Address time zone", c.addressTimeZone],
    ["Group", c.groupId],
  ];
  return h("section", { class: "card", "aria-labelledby": "profile-h" },
    h("h2", { id: "profile-h" }, `Consumer ${c.id}`),
    h("table", {}, h("tbody", {}, rows.filter(([, v]) => v).map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))))),
    h("p", { class: "muted" }, `Emails: ${(c.emails || []).join(", ") || "none"}`));
}

/** The newest STOP-type reply quoted in the trail for a number, if any. */
function stopReply(notes, number) {
  const opted = notes.filter((n) => n.kind === "OPTED_OUT" && n.text.includes(number));
  return opted.length ? opted[opted.length - 1].text : "";
}

function exclusionSection(consumer, status, notes, refresh) {
  const id = consumer.id;
  const flags = {
    bankruptcy: status.bankruptcy,
    disableTextAndAutoCalls: status.disableTextAndAutoCalls,
    disableAutoCommunications: status.disableAutoCommunications,
  };
  const setFlag = (name) => async (ev) => {
    const next = { ...flags, [name]: ev.target.checked };
    try {
      await api("PUT", `/v1/consumers/${enc(id)}/exclusions`, { ...next, operatorId: operatorId() });
      toast("Saved.");
      await refresh();
    } catch (e) {
      ev.target.checked = !ev.target.checked;
      toast(e.message);
    }
  };
  const readOnly = !state.canWrite;
  const level = LEVEL[status.status] || "None";
  const phones = (status.phones || []).map((p) => {
    const byUser = async (ev) => {
      try {
        await api("POST", `/v1/consumers/${enc(id)}/phones/${enc(p.number)}:exclude`,
          { by: "EXCLUDED_BY_USER", excluded: ev.target.checked, operatorId: operatorId() });
        toast("Saved.");
        await refresh();
      } catch (e) {
        ev.target.checked = !ev.target.checked;
        toast(e.message);
      }
    };
    const reply = stopReply(notes, p.number);
    return h("tr", {},
      h("th", { scope: "row" }, p.number),
      h("td", {}, p.excludedByCustomerAt
        ? h("div", {}, h("span", { class: "badge level-full" }, "By Customer"), ` since ${when(p.excludedByCustomerAt)}`,
            reply ? h("div", { class: "reply" }, reply) : null)
        : h("span", { class: "muted" }, "—")),
      h("td", {}, toggle(`By User (${p.number})`, p.excludedByUser, byUser, readOnly)));
  });
  return h("section", { class: "card", "aria-labelledby": "excl-h" },
    h("h2", { id: "excl-h" }, "Exclusions"),
    h("p", {}, h("strong", {}, "Exclusion status: "), h("span", { class: `badge level-${level.toLowerCase()}`, id: "exclusion-status" }, level)),
    toggle("Bankruptcy", flags.bankruptcy, setFlag("bankruptcy"), readOnly),
    toggle("Disable Texting & Auto Calls", flags.disableTextAndAutoCalls, setFlag("disableTextAndAutoCalls"), readOnly),
    toggle("Disable Auto Communications", flags.disableAutoCommunications, setFlag("disableAutoCommunications"), readOnly),
    scroller( h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Number"), h("th", {}, "By Customer"), h("th", {}, "By User"))),
      h("tbody", {}, phones))));
}

/** Collect!'s colours: the last allowed contact in warning, past it in violation. */
function countClass(attempts, max) {
  if (attempts > max) return "count-violation";
  if (attempts === max) return "count-warning";
  return "";
}

function countsSection(s) {
  const rows = (s.controls || []).map((c) => h("tr", {},
    h("th", { scope: "row" }, c.controlId, h("div", { class: "muted" }, c.description)),
    h("td", {}, short(c.channel, "CHANNEL_")),
    h("td", {}, short(c.period, "PERIOD_")),
    h("td", { class: countClass(c.attempts, c.maxTotalContacts), "data-control": c.controlId },
      `${c.attempts} of ${c.maxTotalContacts}`),
    h("td", {}, String(c.rpcs)),
    h("td", {}, c.heldUntil ? `held until ${c.heldUntil}` : "—")));
  const open = (s.openAttempts || []).map((a) => h("li", {}, `${short(a.channel, "CHANNEL_")} ${a.phone} since ${when(a.at)}, until ${when(a.expiresAt)}`));
  const callbacks = (s.callbacks || []).map((c) => h("li", {}, `${c.phone} from ${when(c.at)}`));
  return h("section", { class: "card", "aria-labelledby": "counts-h" },
    h("h2", { id: "counts-h" }, `Contact controls (rule set version ${s.ruleSetVersion})`),
    scroller( h("table", {},
      h("thead", {}, h("tr", {}, ["Control", "Channel", "Period", "Contacts / limit", "RPCs", "Hold"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))),
    h("p", {}, h("strong", {}, "Next call allowed: "), s.nextCallAllowedAt ? when(s.nextCallAllowedAt) : "none found"),
    h("h3", {}, "Open attempts"), open.length ? h("ul", {}, open) : h("p", { class: "muted" }, "None."),
    h("h3", {}, "Callbacks"), callbacks.length ? h("ul", {}, callbacks) : h("p", { class: "muted" }, "None."));
}

function checkSection(consumer) {
  const channel = h("select", {}, ["PHONE", "TEXT", "EMAIL", "LETTER"].map((c) => h("option", { value: `CHANNEL_${c}` }, c.toLowerCase())));
  const phone = h("select", {}, (consumer.phones || []).map((p) => h("option", { value: p.number }, p.number)));
  const mode = h("select", {}, ["AUTO", "MANUAL", "CLICK_TO_DIAL"].map((m) => h("option", { value: `MODE_${m}` }, m.replaceAll("_", " ").toLowerCase())));
  const at = h("input", { type: "datetime-local" });
  const workflow = h("input", { type: "checkbox" });
  const out = h("div", { "aria-live": "polite", id: "check-result" });
  const disabled = !state.canWrite;
  const form = h("form", { class: "card", "aria-labelledby": "check-h", onsubmit: async (ev) => {
      ev.preventDefault();
      const body = {
        requestId: `console-${Date.now()}`,
        consumerId: consumer.id,
        channel: channel.value,
        mode: mode.value,
        workflow: workflow.checked,
        operatorId: operatorId(),
      };
      if (channel.value === "CHANNEL_PHONE" || channel.value === "CHANNEL_TEXT") body.phone = phone.value;
      else body.email = (consumer.emails || [])[0] || "";
      if (at.value) body.at = new Date(at.value).toISOString();
      try {
        const d = await api("POST", "/v1/decisions:check", body);
        const verdict = short(d.verdict, "VERDICT_");
        out.replaceChildren(
          h("p", {}, h("strong", {}, "Verdict: "), h("span", { class: `badge verdict-${verdict}` }, verdict.toUpperCase())),
          h("ul", {}, (d.reasons || []).map((r) => h("li", {}, r.message))),
          d.nextAllowedAt ? h("p", {}, `Next allowed: ${when(d.nextAllowedAt)}`) : null);
      } catch (e) {
        out.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
      }
    } },
    h("h2", { id: "check-h" }, "Check"),
    disabled ? h("p", { class: "muted" }, "An auditor reads decisions in the trail; asking for one is a dialer's or an admin's call.") : null,
    h("div", { class: "row" }, field("Channel", channel), field("Number", phone), field("Mode", mode), field("Instant (default now)", at),
      field("Collection workflow step", workflow),
      h("div", {}, h("button", { type: "submit", disabled }, "Check"))),
    out);
  return form;
}

async function allNotes(id) {
  const notes = [];
  let token = "";
  do {
    const page = await api("GET", `/v1/consumers/${enc(id)}/auditNotes?pageSize=1000${token ? `&pageToken=${enc(token)}` : ""}`);
    notes.push(...(page.notes || []));
    token = page.nextPageToken || "";
  } while (token);
  return notes;
}

function trailSection(notes) {
  const newest = [...notes].reverse();
  const per = 20;
  let page = 0;
  const body = h("tbody");
  const where = h("span", { class: "muted" });
  const prev = h("button", { type: "button", class: "secondary", onclick: () => { page -= 1; draw(); } }, "Newer");
  const next = h("button", { type: "button", class: "secondary", onclick: () => { page += 1; draw(); } }, "Older");
  function draw() {
    const slice = newest.slice(page * per, page * per + per);
    body.replaceChildren(...slice.map((n) => h("tr", {},
      h("td", {}, when(n.at)), h("td", {}, n.kind), h("td", {}, n.operatorId || "—"), h("td", { class: "reply" }, n.text))));
    where.textContent = newest.length ? `${page * per + 1}–${page * per + slice.length} of ${newest.length}, newest first` : "No notes yet.";
    prev.disabled = page === 0;
    next.disabled = (page + 1) * per >= newest.length;
  }
  draw();
  return h("section", { class: "card", "aria-labelledby": "trail-h" },
    h("h2", { id: "trail-h" }, "Audit trail"),
    scroller( h("table", {},
      h("thead", {}, h("tr", {}, ["When", "Kind", "Operator", "Note"].map((t) => h("th", { scope: "col" }, t)))), body)),
    h("div", { class: "row" }, prev, next, where));
}

// ---- Rules -----------------------------------------------------------------------------

const CHANNELS = ["PHONE", "TEXT", "EMAIL", "LETTER"];
const PERIODS = ["DAY", "WEEK", "MONTH", "ROLLING_24_HOURS"];
/** The contact-control form's fields, in the seed's terms. */
const CONTROL_FIELDS = [
  ["id", "Id", "text"],
  ["description", "Description", "text"],
  ["state", "State (empty: all)", "text"],
  ["country", "Country (empty: all)", "text"],
  ["maxTotalContacts", "Max total contacts", "number"],
  ["period", "Period", PERIODS],
  ["applyToGroup", "Apply to group", "checkbox"],
  ["holdForDays", "Hold for (days)", "number"],
  ["attemptCodes", "Call attempt codes", "codes"],
  ["rpcCodes", "Call RPC codes", "codes"],
  ["callFrom", "Call from (HH:MM)", "text"],
  ["callTo", "Call to (HH:MM)", "text"],
  ["smsReauthDays", "SMS re-authorization (days)", "number"],
  ["noContactOnHolidays", "No contact on holidays", "checkbox"],
];
const snake = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

async function rulesPage() {
  const rules = await api("GET", "/v1/rules");
  const versions = await api("GET", "/v1/rules/versions?pageSize=100");
  const draft = JSON.parse(JSON.stringify(rules));
  const errorsAt = new Map();
  const form = h("form", { class: "card", "aria-labelledby": "rules-h", onsubmit: (ev) => ev.preventDefault() });
  const summary = h("div", { "aria-live": "polite" });
  const readOnly = !state.canWrite;

  function controlFieldset(control, index) {
    const fs = h("fieldset", { class: "control-group" }, h("legend", {}, `${control.id || "new control"}`));
    for (const [name, labelText, kind] of CONTROL_FIELDS) {
      let input;
      const value = control[name];
      if (Array.isArray(kind)) {
        input = h("select", { disabled: readOnly }, kind.map((p) => h("option", { value: `PERIOD_${p}` }, p.replaceAll("_", " ").toLowerCase())));
        input.value = value || "PERIOD_WEEK";
        input.addEventListener("change", () => { control[name] = input.value; });
      } else if (kind === "checkbox") {
        input = h("input", { type: "checkbox", disabled: readOnly });
        input.checked = !!value;
        input.addEventListener("change", () => { control[name] = input.checked; });
      } else if (kind === "codes") {
        input = h("input", { type: "text", value: (value || []).join(", "), inputmode: "numeric", disabled: readOnly });
        input.addEventListener("change", () => {
          control[name] = input.value.split(/[,\s]+/).filter(Boolean).map((n) => Number(n));
        });
      } else {
        input = h("input", { type: kind, value: value ?? "", disabled: readOnly });
        input.addEventListener("change", () => { control[name] = kind === "number" ? Number(input.value) : input.value; });
      }
      const wrap = field(labelText, input);
      const err = errorsAt.get(`controls[${index}].${snake(name)}`);
      if (err) {
        const errId = `err-${index}-${name}`;
        wrap.append(h("div", { class: "field-error", id: errId }, err));
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", errId);
      }
      fs.append(wrap);
    }
    const other = [...errorsAt.entries()].filter(([k]) => k.startsWith(`controls[${index}]`) && !CONTROL_FIELDS.some(([n]) => k === `controls[${index}].${snake(n)}`));
    for (const [, message] of other) fs.append(h("div", { class: "field-error" }, message));
    return fs;
  }

  function draw() {
    form.replaceChildren(h("h1", { id: "rules-h" }, `Rules in force: version ${rules.version}`));
    for (const channel of CHANNELS) {
      const mine = draft.controls.map((c, i) => [c, i]).filter(([c]) => (c.type || "CHANNEL_PHONE") === `CHANNEL_${channel}`);
      if (!mine.length) continue;
      form.append(h("h2", {}, channel.toLowerCase()), ...mine.map(([c, i]) => controlFieldset(c, i)));
    }
    const general = [...errorsAt.entries()].filter(([k]) => !k.startsWith("controls["));
    for (const [k, message] of general) form.append(h("p", { class: "field-error" }, `${k}: ${message}`));
    const reason = h("input", { type: "text", id: "change-reason", disabled: readOnly });
    const effective = h("input", { type: "datetime-local", id: "effective-at", disabled: readOnly });
    form.append(
      h("div", { class: "row" },
        h("div", {}, h("button", { type: "button", class: "secondary", onclick: validate }, "Validate"))),
      h("h2", {}, "Activate"),
      h("div", { class: "row" }, field("Reason for the change", reason), field("Effective (empty: at once)", effective),
        h("div", {}, h("button", { type: "button", disabled: readOnly, onclick: () => activate(reason.value, effective.value) }, "Activate"))),
      summary);
  }

  function showErrors(list) {
    errorsAt.clear();
    for (const e of list) {
      const at = e.indexOf(": ");
      errorsAt.set(at > 0 ? e.slice(0, at) : "", at > 0 ? e.slice(at + 2) : e);
    }
    draw();
  }

  function body() {
    const b = JSON.parse(JSON.stringify(draft));
    delete b.version; delete b.activatedAt; delete b.operatorId; delete b.changeReason; delete b.effectiveAt;
    return b;
  }

  async function validate() {
    const answer = await api("POST", "/v1/rules:validate", body());
    showErrors(answer.errors || []);
    summary.replaceChildren(h("p", { class: (answer.errors || []).length ? "error" : "" },
      (answer.errors || []).length ? `${answer.errors.length} error(s): see beside each field.` : "The rule set is valid."));
  }

  async function activate(reason, effective) {
    const b = { ...body(), changeReason: reason, operatorId: operatorId() };
    if (effective) b.effectiveAt = new Date(effective).toISOString();
    try {
      const v = await api("PUT", "/v1/rules", b);
      toast(`Version ${v.version} put.`);
      rulesPage();
    } catch (e) {
      const errors = e.message.split("; ").filter(Boolean);
      showErrors(errors);
      summary.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    }
  }

  draw();
  show(form, historySection(versions.versions || []));
}

function historySection(versions) {
  const pick = (id) => h("select", { id }, versions.map((v) => h("option", { value: v.version }, `version ${v.version}`)));
  const a = pick("diff-a");
  const b = pick("diff-b");
  if (versions.length > 1) a.value = versions[1].version;
  const out = h("div", { "aria-live": "polite", id: "diff" });
  return h("section", { class: "card", "aria-labelledby": "hist-h" },
    h("h2", { id: "hist-h" }, "Version history"),
    scroller( h("table", {},
      h("thead", {}, h("tr", {}, ["Version", "Who", "When", "Effective", "Why"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, versions.map((v) => h("tr", {},
        h("td", {}, v.version), h("td", {}, v.operatorId || "—"), h("td", {}, when(v.activatedAt)),
        h("td", {}, v.effectiveAt ? when(v.effectiveAt) : "at once"), h("td", {}, v.changeReason || "—")))))),
    h("h3", {}, "Compare two versions"),
    h("div", { class: "row" }, field("From", a), field("To", b),
      h("div", {}, h("button", { type: "button", onclick: async () => {
        const [x, y] = await Promise.all([api("GET", `/v1/rules/versions/${a.value}`), api("GET", `/v1/rules/versions/${b.value}`)]);
        out.replaceChildren(diffTable(x, y));
      } }, "Show the differences"))),
    out);
}

/** What changed between two versions, control by control and field by field. */
function diffTable(x, y) {
  const rows = [];
  const byId = (rs) => new Map((rs.controls || []).map((c) => [c.id, c]));
  const [cx, cy] = [byId(x), byId(y)];
  for (const [id, c] of cy) {
    if (!cx.has(id)) { rows.push(["diff-added", id, "control added", "", c.description || ""]); continue; }
    const old = cx.get(id);
    for (const k of new Set([...Object.keys(old), ...Object.keys(c)])) {
      const [o, n] = [JSON.stringify(old[k] ?? null), JSON.stringify(c[k] ?? null)];
      if (o !== n) rows.push(["diff-changed", id, k, o, n]);
    }
  }
  for (const id of cx.keys()) if (!cy.has(id)) rows.push(["diff-removed", id, "control removed", "", ""]);
  for (const k of ["holidays", "exemptOperatorIds", "leaseSeconds", "maxInFlight"]) {
    const [o, n] = [JSON.stringify(x[k] ?? null), JSON.stringify(y[k] ?? null)];
    if (o !== n) rows.push(["diff-changed", "(rule set)", k, o, n]);
  }
  if (!rows.length) return h("p", {}, `Versions ${x.version} and ${y.version} have the same rules.`);
  return scroller( h("table", {},
    h("caption", {}, `From version ${x.version} to version ${y.version}`),
    h("thead", {}, h("tr", {}, ["Control", "Field", "Was", "Now"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map(([cls, id, k, o, n]) => h("tr", { class: cls }, h("td", {}, id), h("td", {}, k), h("td", {}, o), h("td", {}, n))))));
}

// ---- Programs --------------------------------------------------------------------------

const PURPOSES = ["CUSTOMER_SERVICE", "DEBT_COLLECTION", "INFORMATIONAL_NOTIFICATION", "CHARITY", "POLITICAL", "SURVEY", "TELEMARKETING", "MULTI_USE_LINE", "PRISON", "DO_NOT_ORIGINATE"];

async function programsPage(id) {
  const list = await api("GET", "/v1/programs");
  const programs = list.programs || [];
  const table = h("section", { class: "card", "aria-labelledby": "prog-h" },
    h("h1", { id: "prog-h" }, "Programs"),
    programs.length
      ? scroller( h("table", {},
          h("thead", {}, h("tr", {}, ["Id", "Name", "Purpose", "Display name", "Schedule"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, programs.map((p) => h("tr", {},
            h("td", {}, h("a", { href: `#/programs/${enc(p.id)}` }, p.id)), h("td", {}, p.name),
            h("td", {}, short(p.callPurpose, "CALL_PURPOSE_")), h("td", {}, p.displayName),
            h("td", {}, `${when(p.start)} – ${when(p.end)}`))))))
      : h("p", { class: "muted" }, "No programs yet."));
  const open = id ? programs.find((p) => p.id === id) : null;
  show(table, open ? numbersStep(open) : state.canWrite ? newProgram() : h("p", { class: "muted" }, "An auditor reads programs; creating one is an admin's."));
}

/** The portal's steps: who and why, then how it shows and when it runs, then numbers. */
function newProgram() {
  const p = { callPurpose: "CALL_PURPOSE_DEBT_COLLECTION" };
  const box = h("form", { class: "card", "aria-labelledby": "new-h", onsubmit: (ev) => ev.preventDefault() });
  const steps = ["Program", "Display and schedule", "Numbers"];
  const stepList = (n) => h("ol", { class: "steps" }, steps.map((s, i) => h("li", { "aria-current": i === n ? "step" : false }, `${i + 1}. ${s}`)));
  const text = (name, label) => {
    const input = h("input", { type: "text", value: p[name] || "" });
    input.addEventListener("input", () => { p[name] = input.value; });
    return field(label, input);
  };
  const out = h("div", { "aria-live": "polite" });
  function one() {
    const purpose = h("select", {}, PURPOSES.map((x) => h("option", { value: `CALL_PURPOSE_${x}` }, x.replaceAll("_", " ").toLowerCase())));
    purpose.value = p.callPurpose;
    purpose.addEventListener("change", () => { p.callPurpose = purpose.value; });
    box.replaceChildren(h("h2", { id: "new-h" }, "New program"), stepList(0),
      text("id", "Program id"), text("businessUnit", "Business unit"), text("programType", "Program type"), text("name", "Name"),
      field("Call purpose", purpose), text("description", "Description"),
      h("p", {}, h("button", { type: "button", onclick: two }, "Next")));
  }
  function two() {
    const start = h("input", { type: "date" });
    const end = h("input", { type: "date" });
    box.replaceChildren(h("h2", { id: "new-h" }, "New program"), stepList(1),
      text("displayName", "Display name"), text("shorthandDisplay", "Shorthand display"),
      field("Start", start), field("End", end), out,
      h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", onclick: one }, "Back"),
        h("button", { type: "button", onclick: async () => {
          if (start.value) p.start = `${start.value}T00:00:00Z`;
          if (end.value) p.end = `${end.value}T00:00:00Z`;
          try {
            const made = await api("POST", "/v1/programs", p);
            toast(`Program ${made.id} created.`);
            location.hash = `#/programs/${enc(made.id)}`;
          } catch (e) {
            out.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
          }
        } }, "Create")));
  }
  one();
  return box;
}

/** Numbers typed or a CSV dropped (two columns: number, call purpose; at most 500 rows). */
function numbersStep(program) {
  const out = h("div", { "aria-live": "polite", id: "numbers-result" });
  const typed = h("textarea", { rows: 4, cols: 40, disabled: !state.canWrite });
  const file = h("input", { type: "file", accept: ".csv,text/csv", disabled: !state.canWrite });
  const send = async (csvText) => {
    const bytes = new TextEncoder().encode(csvText);
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    try {
      const r = await api("POST", `/v1/programs/${enc(program.id)}/numbers:importCsv`, { csv: btoa(binary) });
      const errors = r.errors || [];
      out.replaceChildren(errors.length
        ? h("div", { role: "alert" }, h("p", { class: "error" }, `Nothing was added: ${errors.length} row(s) are wrong.`),
            h("ul", { id: "row-errors" }, errors.map((e) => h("li", {}, `Row ${e.row}: ${e.message}`))))
        : h("p", {}, `${r.added} number(s) added.`));
    } catch (e) {
      out.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    }
  };
  const zone = h("div", { class: "dropzone", id: "dropzone" }, "Drop a CSV here (number, call purpose; at most 500 rows), or choose a file:", h("div", {}, field("CSV file", file)));
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    const f = ev.dataTransfer.files[0];
    if (f && state.canWrite) await send(await f.text());
  });
  file.addEventListener("change", async () => { if (file.files[0]) await send(await file.files[0].text()); });
  return h("section", { class: "card", "aria-labelledby": "num-h" },
    h("h2", { id: "num-h" }, `Numbers of ${program.name || program.id}`),
    h("p", { class: "muted" }, `${short(program.callPurpose, "CALL_PURPOSE_")} · ${program.displayName || ""}`),
    field("Numbers, one a line (the program's purpose)", typed),
    h("p", {}, h("button", { type: "button", disabled: !state.canWrite, onclick: () => {
      const purpose = program.callPurpose.replace("CALL_PURPOSE_", "");
      send(typed.value.split("\n").map((l) => l.trim()).filter(Boolean).map((n) => `"${n.replaceAll('"', "")}",${purpose}`).join("\n"));
    } }, "Add numbers")),
    zone, out);
}

// ---- Do Not Call lists and evidence ------------------------------------------------------

async function dataPage() {
  const lists = (await api("GET", "/v1/dnc")).lists || [];
  show(dncSection(lists), evidenceSection());
}

function dncSection(lists) {
  const name = h("input", { type: "text", value: "national", disabled: !state.canWrite });
  const mode = h("select", { disabled: !state.canWrite }, ["replace", "add", "remove"].map((m) => h("option", { value: m }, m)));
  const file = h("input", { type: "file", accept: ".txt,.csv,text/plain", disabled: !state.canWrite });
  const bar = h("progress", { max: 100, value: 0, "aria-label": "Upload progress" });
  const out = h("div", { "aria-live": "polite", id: "dnc-result" });
  const upload = () => {
    const f = file.files[0];
    if (!f) return;
    // XMLHttpRequest, for its upload progress; the token rides in the header as always.
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/dnc/${enc(name.value.trim())}:import?mode=${enc(mode.value)}`);
    if (state.token) xhr.setRequestHeader("authorization", `Bearer ${state.token}`);
    xhr.setRequestHeader("content-type", "text/plain");
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) bar.value = Math.round((100 * ev.loaded) / ev.total); };
    xhr.onload = () => {
      let json = {};
      try { json = JSON.parse(xhr.responseText); } catch { json = { message: xhr.responseText }; }
      out.replaceChildren(xhr.status === 200
        ? h("p", {}, `List ${json.list}: ${json.imported} sent, ${json.removed} removed, ${json.numbers} on the list now.`)
        : h("p", { class: "error", role: "alert" }, json.message || `HTTP ${xhr.status}`));
      if (xhr.status === 200) bar.value = 100;
    };
    xhr.onerror = () => out.replaceChildren(h("p", { class: "error", role: "alert" }, "The upload failed."));
    xhr.send(f);
  };
  return h("section", { class: "card", "aria-labelledby": "dnc-h" },
    h("h1", { id: "dnc-h" }, "Do Not Call lists"),
    scroller( h("table", {},
      h("thead", {}, h("tr", {}, ["List", "Numbers", "Last changed"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, lists.map((l) => h("tr", {}, h("td", {}, l.name), h("td", {}, l.numbers), h("td", {}, when(l.updatedAt))))))),
    h("h2", {}, "Upload a list file"),
    h("div", { class: "row" }, field("List", name), field("Mode", mode), field("File (one number a line)", file),
      h("div", {}, h("button", { type: "button", onclick: upload, disabled: !state.canWrite }, "Upload"))),
    bar, out);
}

function evidenceSection() {
  const consumer = h("input", { type: "text" });
  const from = h("input", { type: "date" });
  const to = h("input", { type: "date" });
  const format = h("select", {}, h("option", { value: "csv" }, "CSV"), h("option", { value: "ndjson" }, "NDJSON"));
  const out = h("div", { "aria-live": "polite", id: "evidence-result" });
  const download = async () => {
    const q = new URLSearchParams({ format: format.value });
    if (consumer.value.trim()) q.set("consumerId", consumer.value.trim());
    if (from.value) q.set("from", `${from.value}T00:00:00Z`);
    if (to.value) q.set("to", `${to.value}T00:00:00Z`);
    const response = await fetch(`/v1/evidence?${q}`, { headers: headers() });
    if (!response.ok) {
      const json = await response.json().catch(() => ({}));
      return out.replaceChildren(h("p", { class: "error", role: "alert" }, json.message || `HTTP ${response.status}`));
    }
    const blob = await response.blob();
    const link = h("a", { href: URL.createObjectURL(blob), download: `evidence.${format.value}` });
    document.body.append(link);
    link.click();
    link.remove();
    out.replaceChildren(h("p", {}, `Downloaded ${blob.size} bytes.`));
  };
  return h("section", { class: "card", "aria-labelledby": "ev-h" },
    h("h2", { id: "ev-h" }, "Evidence export"),
    h("p", { class: "muted" }, "Every recorded event in time order, for one consumer or for a range of dates."),
    h("div", { class: "row" }, field("Consumer id (empty: everyone)", consumer), field("From", from), field("To", to), field("Format", format),
      h("div", {}, h("button", { type: "button", onclick: download }, "Download"))),
    out);
}

// ---- Start -----------------------------------------------------------------------------

window.addEventListener("hashchange", () => { if (state.token || !document.getElementById("nav").hidden) route(); });
document.getElementById("sign-out").addEventListener("click", signOut);
start();
