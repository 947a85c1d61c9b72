// Kizuna segment builder: builds a segment's condition tree without typing JSON. No dependencies.
//
// The tree is written, pretty-printed, into the form's <textarea name="condition"> on every
// change; editing that textarea by hand rebuilds the builder when it can show the JSON. The
// live count posts the textarea's JSON to the console's preview endpoint (debounced) and shows
// the count, a sample, the condition in words and, when refused, why (outlining the row at fault).
"use strict";

(function () {
  const root = document.getElementById("builder");
  const configNode = document.getElementById("builder-config");
  if (!root || !configNode) return;
  const config = JSON.parse(configNode.textContent);
  const T = config.texts;
  const form = document.getElementById("segment-form");
  const jsonArea = document.getElementById("condition-json");
  const jsonPanel = document.getElementById("json-panel");
  const jsonError = document.getElementById("json-error");
  const preview = document.getElementById("preview");
  const countEl = document.getElementById("live-count");
  const countText = document.getElementById("live-count-text");
  const readable = document.getElementById("readable");
  const errorsEl = document.getElementById("live-errors");
  const sampleEl = document.getElementById("live-sample");
  const csrf = form.querySelector("input[name=csrf_token]").value;

  const NO_VALUE = new Set(["exists", "not_exists"]);
  const LIST = new Set(["in", "not_in"]);
  const DAYS = new Set(["within_last_days", "before_days_ago"]);
  const TEXT = new Set(["contains", "starts_with"]);
  const UNITS = [["days", T.unit_days], ["hours", T.unit_hours], ["minutes", T.unit_minutes]];

  // --- small DOM helpers -------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function choice(options, value, attrs) {
    const select = h("select", attrs);
    for (const [optionValue, label] of options) select.append(h("option", { value: optionValue }, label));
    if (value !== undefined && value !== null) {
      const wanted = String(value);
      if (![...select.options].some((o) => o.value === wanted)) {
        select.append(h("option", { value: wanted }, wanted)); // kept, even if unknown here
      }
      select.value = wanted;
    }
    return select;
  }

  function field(value, attrs) {
    const input = h("input", Object.assign({ type: "text" }, attrs));
    input.value = value === undefined || value === null ? "" : String(value);
    return input;
  }

  function number(value, attrs) {
    const input = h("input", Object.assign({ type: "number", min: "0", step: "1" }, attrs));
    input.value = value === undefined || value === null ? "" : String(value);
    return input;
  }

  function word(text, attrs) {
    return h("span", Object.assign({ class: "sb-word" }, attrs), text);
  }

  function button(text, className, onClick) {
    const b = h("button", { type: "button", class: `btn btn-small ${className}` }, text);
    b.addEventListener("click", onClick);
    return b;
  }

  function negation(checked) {
    const box = h("input", { type: "checkbox", class: "sb-negate" });
    box.checked = Boolean(checked);
    return { box, label: h("label", { class: "sb-not" }, box, T.not) };
  }

  // --- values: "a, b" is a list, "12" a number, "\"12\"" the text 12 -----------------------

  function scalar(text) {
    const t = text.trim();
    if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1);
    if (t === "true") return true;
    if (t === "false") return false;
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
    return t;
  }

  function parseValue(op, text) {
    if (NO_VALUE.has(op)) return undefined;
    if (LIST.has(op)) return text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(scalar);
    if (DAYS.has(op)) return /^\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    if (TEXT.has(op)) return text;
    return scalar(text);
  }

  function showScalar(v) {
    if (typeof v === "string" && (/^-?\d+(\.\d+)?$/.test(v.trim()) || v === "true" || v === "false")) {
      return `"${v}"`;
    }
    return String(v);
  }

  function showValue(v) {
    if (v === undefined || v === null) return "";
    return Array.isArray(v) ? v.map(showScalar).join(", ") : showScalar(v);
  }

  // --- windows: an amount and a unit; hours and minutes beyond a day carry into days -------

  function windowParts(w) {
    if (!w) return { amount: "", unit: "" };
    const days = w.days || 0;
    const hours = w.hours || 0;
    const minutes = w.minutes || 0;
    if (minutes) return { amount: days * 1440 + hours * 60 + minutes, unit: "minutes" };
    if (hours) return { amount: days * 24 + hours, unit: "hours" };
    return { amount: days, unit: "days" };
  }

  function windowOf(amount, unit) {
    if (!unit) return undefined;
    const n = Math.max(0, Math.floor(Number(amount) || 0));
    let parts = { days: n };
    if (unit === "hours") parts = { days: Math.floor(n / 24), hours: n % 24 };
    if (unit === "minutes") {
      parts = { days: Math.floor(n / 1440), hours: Math.floor((n % 1440) / 60), minutes: n % 60 };
    }
    const out = {};
    for (const [k, v] of Object.entries(parts)) if (v) out[k] = v;
    return Object.keys(out).length ? out : { days: 0 }; // refused by the server, with the reason
  }

  function windowEditor(w, emptyLabel, lead, className) {
    const parts = windowParts(w);
    const leadWord = word(lead);
    const amount = number(parts.amount, { class: `sb-amount ${className}-amount`, "aria-label": lead });
    const units = emptyLabel ? [["", emptyLabel], ...UNITS] : UNITS;
    const unit = choice(units, parts.unit || (emptyLabel ? "" : "hours"), {
      class: `sb-unit ${className}-unit`,
      "aria-label": lead,
    });
    const sync = () => {
      amount.hidden = unit.value === "";
      leadWord.hidden = unit.value === "";
      if (unit.value && amount.value === "") amount.value = unit.value === "days" ? "30" : "1";
    };
    unit.addEventListener("change", sync);
    sync();
    return { nodes: [leadWord, amount, unit], read: () => windowOf(amount.value, unit.value) };
  }

  // --- an operator and its value -----------------------------------------------------------

  function comparison(node) {
    const op = choice(config.ops, node.op || "eq", { class: "sb-op", "aria-label": T.value });
    const value = field(showValue(node.value), {
      class: "sb-value",
      placeholder: T.value,
      title: T.value_hint,
      "aria-label": T.value,
    });
    const sync = () => {
      value.hidden = NO_VALUE.has(op.value);
    };
    op.addEventListener("change", sync);
    sync();
    return {
      nodes: [op, value],
      read() {
        const out = { op: op.value };
        const parsed = parseValue(op.value, value.value);
        if (parsed !== undefined) out.value = parsed;
        return out;
      },
    };
  }

  // --- an event filter: name, channel and property conditions ------------------------------

  function filterEditor(f) {
    const filter = f || {};
    const event = field(filter.event || "", {
      class: "sb-event sb-wide",
      list: "sb-events",
      placeholder: T.event,
      "aria-label": T.event,
    });
    const channel = choice([["", T.any_channel], ...config.channels], filter.channel || "", {
      class: "sb-channel",
      "aria-label": T.channel,
    });
    const where = h("div", { class: "sb-where" });

    function whereRow(p) {
      const path = field(p.path || "", { class: "sb-path", placeholder: T.property, "aria-label": T.property });
      const cmp = comparison(p);
      const row = h("div", { class: "sb-where-row" }, word(T.where), path, ...cmp.nodes);
      row.append(button("×", "sb-remove-where", () => { row.remove(); changed(); }));
      row.read = () => Object.assign({ path: path.value.trim() }, cmp.read());
      return row;
    }

    for (const p of filter.where || []) where.append(whereRow(p));
    const addWhere = button(T.add_where, "sb-add-where", () => {
      where.append(whereRow({ op: "eq" }));
      changed();
    });
    return {
      head: [event, channel],
      tail: [addWhere, where],
      read() {
        const out = { event: event.value.trim() };
        if (channel.value) out.channel = channel.value;
        const rows = [...where.children].map((r) => r.read());
        if (rows.length) out.where = rows;
        return out;
      },
    };
  }

  // --- one editor per kind of condition ----------------------------------------------------

  const EDITORS = {
    performed(n) {
      const filter = filterEditor(n.filter);
      const count = n.count || { op: "gte", value: 1 };
      const countOp = choice(config.countOps, count.op, { class: "sb-count-op", "aria-label": T.times });
      const countValue = number(count.value, { class: "sb-count", "aria-label": T.times });
      const within = windowEditor(n.within, T.all_time, T.in_the_last, "sb-within");
      return {
        nodes: [...filter.head, countOp, countValue, word(T.times), ...within.nodes, ...filter.tail],
        read() {
          const out = { kind: "performed", filter: filter.read() };
          out.count = { op: countOp.value, value: Math.floor(Number(countValue.value) || 0) };
          const w = within.read();
          if (w) out.within = w;
          return out;
        },
      };
    },
    sequence(n) {
      const first = filterEditor(n.first);
      const firstWithin = windowEditor(n.first_within, T.any_time, T.in_the_last, "sb-first-within");
      const follow = choice([["then", T.then], ["then_not", T.then_not]], n.then ? "then" : "then_not", {
        class: "sb-follow",
      });
      const second = filterEditor(n.then || n.then_not);
      const within = windowEditor(n.within || { hours: 1 }, null, T.within, "sb-gap");
      return {
        nodes: [
          h("div", { class: "sb-sub" }, ...first.head, ...firstWithin.nodes, ...first.tail),
          h("div", { class: "sb-sub" }, follow, ...second.head, ...within.nodes, ...second.tail),
        ],
        read() {
          const out = { kind: "sequence", first: first.read() };
          out[follow.value] = second.read();
          out.within = within.read();
          const fw = firstWithin.read();
          if (fw) out.first_within = fw;
          return out;
        },
      };
    },
    trait(n) {
      const path = field(n.path || "", { class: "sb-path sb-wide", placeholder: "address.prefecture", "aria-label": T.path });
      const cmp = comparison(n);
      return {
        nodes: [path, ...cmp.nodes],
        read: () => Object.assign({ kind: "trait", path: path.value.trim() }, cmp.read()),
      };
    },
    computed_trait(n) {
      const known = config.computedTraits.map(([key, name]) => [key, `${name} (${key})`]);
      const key = known.length
        ? choice(known, n.key || known[0][0], { class: "sb-key", "aria-label": T.key })
        : field(n.key || "", { class: "sb-key", placeholder: T.no_traits, "aria-label": T.key });
      const cmp = comparison(Object.assign({ op: "gte" }, n));
      return {
        nodes: [key, ...cmp.nodes],
        read: () => Object.assign({ kind: "computed_trait", key: key.value.trim() }, cmp.read()),
      };
    },
    identifier(n) {
      const op = choice([["exists", T.has], ["not_exists", T.has_not]], n.op || "exists", { class: "sb-has" });
      const type = choice(config.identifierTypes, n.type || "email", { class: "sb-type", "aria-label": T.type });
      return { nodes: [op, type], read: () => ({ kind: "identifier", type: type.value, op: op.value }) };
    },
    consent(n) {
      const first = config.consentGroups.length ? config.consentGroups[0][0] : "";
      const group = choice(config.consentGroups, n.purpose ? `${n.purpose}:${n.channel}` : first, {
        class: "sb-consent",
        "aria-label": T.consent,
      });
      const allowed = choice([["true", T.allowed], ["false", T.not_allowed]], n.allowed === false ? "false" : "true", {
        class: "sb-allowed",
      });
      return {
        nodes: [group, allowed],
        read() {
          const [purpose, channel] = group.value.split(":");
          return { kind: "consent", purpose, channel, allowed: allowed.value === "true" };
        },
      };
    },
    segment(n) {
      const member = choice([["true", T.member], ["false", T.not_member]], n.member === false ? "false" : "true", {
        class: "sb-member",
      });
      const segment = config.segments.length
        ? choice(config.segments, n.segment || config.segments[0][0], { class: "sb-segment", "aria-label": T.segment })
        : field(n.segment || "", { class: "sb-segment", placeholder: T.no_segments, "aria-label": T.segment });
      return {
        nodes: [member, segment],
        read: () => ({ kind: "segment", segment: segment.value.trim(), member: member.value === "true" }),
      };
    },
  };

  function blank(kind) {
    const blanks = {
      performed: { kind, filter: { event: "" } },
      sequence: { kind, first: { event: "" }, then_not: { event: "" }, within: { hours: 1 } },
      trait: { kind, path: "", op: "eq", value: "" },
      computed_trait: { kind, op: "gte", value: "" },
      identifier: { kind, type: "email", op: "exists" },
      consent: { kind, allowed: true },
      segment: { kind, member: true },
    };
    return blanks[kind];
  }

  function negated(node, yes) {
    return yes ? { kind: "not", condition: node } : node;
  }

  // --- rows and groups ---------------------------------------------------------------------

  function rowElement(node, isNegated) {
    const row = h("div", { class: "sb-row", dataset: { kind: node.kind } });
    const not = negation(isNegated);
    const kind = choice(config.kinds, node.kind, { class: "sb-kind", "aria-label": T.kind });
    const fields = h("div", { class: "sb-fields" });
    let editor = null;
    const show = (n) => {
      editor = EDITORS[n.kind](n);
      fields.replaceChildren(...editor.nodes);
      row.dataset.kind = n.kind;
    };
    show(node);
    kind.addEventListener("change", () => show(blank(kind.value)));
    const mark = () => row.classList.toggle("sb-negated", not.box.checked);
    not.box.addEventListener("change", mark);
    mark();
    row.append(not.label, kind, button(T.remove, "sb-remove", () => { row.remove(); changed(); }), fields);
    row.read = () => negated(editor.read(), not.box.checked);
    return row;
  }

  function groupElement(node, isNegated, isRoot) {
    const group = h("div", { class: isRoot ? "sb-group sb-root" : "sb-group" });
    const match = choice([["and", T.match_all], ["or", T.match_any]], node.kind, { class: "sb-match" });
    const not = negation(isNegated);
    const head = h("div", { class: "sb-head" }, match, not.label);
    if (!isRoot) head.append(button(T.remove, "sb-remove", () => { group.remove(); changed(); }));
    const members = h("div", { class: "sb-children" });
    for (const child of node.conditions || []) members.append(element(child));
    const foot = h(
      "div",
      { class: "sb-foot" },
      button(T.add_condition, "sb-add-condition", () => {
        members.append(rowElement(blank("performed"), false));
        changed();
      }),
      button(T.add_group, "sb-add-group", () => {
        const inner = match.value === "and" ? "or" : "and";
        members.append(groupElement({ kind: inner, conditions: [blank("performed")] }, false, false));
        changed();
      }),
    );
    const mark = () => group.classList.toggle("sb-negated", not.box.checked);
    not.box.addEventListener("change", mark);
    mark();
    group.append(head, members, foot);
    group.members = members;
    group.negate = not.box;
    group.read = () =>
      negated({ kind: match.value, conditions: [...members.children].map((c) => c.read()) }, not.box.checked);
    return group;
  }

  function element(node) {
    if (!node || typeof node !== "object") throw new Error("not a condition");
    if (node.kind === "not") {
      const inner = node.condition;
      if (!inner || inner.kind === "not") return groupElement({ kind: "and", conditions: [inner] }, true, false);
      if (inner.kind === "and" || inner.kind === "or") return groupElement(inner, true, false);
      if (!EDITORS[inner.kind]) throw new Error(`no editor for ${inner.kind}`);
      return rowElement(inner, true);
    }
    if (node.kind === "and" || node.kind === "or") return groupElement(node, false, false);
    if (!EDITORS[node.kind]) throw new Error(`no editor for ${node.kind}`);
    return rowElement(node, false);
  }

  let rootGroup = null;

  function load(tree) {
    let group;
    if (!tree) group = groupElement({ kind: "and", conditions: [] }, false, true);
    else if (tree.kind === "and" || tree.kind === "or") group = groupElement(tree, false, true);
    else if (tree.kind === "not" && tree.condition && ["and", "or"].includes(tree.condition.kind)) {
      group = groupElement(tree.condition, true, true);
    } else group = groupElement({ kind: "and", conditions: [tree] }, false, true);
    root.replaceChildren(group);
    rootGroup = group;
  }

  // The tree the builder shows; a top group holding one condition is that condition.
  function current() {
    const tree = rootGroup.read();
    if (tree.kind === "not") return tree;
    if (tree.conditions.length === 0) return null;
    return tree.conditions.length === 1 ? tree.conditions[0] : tree;
  }

  function changed() {
    const tree = current();
    jsonArea.value = tree ? JSON.stringify(tree, null, 2) : "";
    jsonError.hidden = true;
    schedulePreview();
  }

  function showJsonError(text) {
    jsonError.textContent = text;
    jsonError.hidden = false;
    jsonPanel.open = true;
  }

  function loadFromJson() {
    const text = jsonArea.value.trim();
    if (!text) {
      load(null);
      jsonError.hidden = true;
      return;
    }
    let tree;
    try {
      tree = JSON.parse(text);
    } catch (error) {
      showJsonError(T.json_invalid.replace("{detail}", error.message));
      return;
    }
    try {
      load(tree);
      jsonError.hidden = true;
    } catch (error) {
      showJsonError(T.json_unsupported);
    }
  }

  // --- the live count ----------------------------------------------------------------------

  // Each preview of a filter never used before reads its history from the log once: wait for
  // a pause in typing rather than asking on every keystroke.
  const PREVIEW_DELAY_MS = 600;
  let timer = null;
  let asked = 0;

  function schedulePreview() {
    window.clearTimeout(timer);
    timer = window.setTimeout(runPreview, PREVIEW_DELAY_MS);
  }

  // The builder element a refusal's location points at (rows and groups, not their fields).
  function elementAt(loc) {
    const only = rootGroup.members.children;
    let target = !rootGroup.negate.checked && only.length === 1 ? only[0] : rootGroup;
    let i = loc[0] === "condition" ? 1 : loc.length;
    while (i < loc.length) {
      if (loc[i] === "condition") i += 1;
      else if (loc[i] === "conditions" && typeof loc[i + 1] === "number" && target.members) {
        const next = target.members.children[loc[i + 1]];
        if (!next) break;
        target = next;
        i += 2;
      } else break;
    }
    return target;
  }

  function showProblems(problems) {
    root.querySelectorAll(".sb-invalid").forEach((e) => e.classList.remove("sb-invalid"));
    errorsEl.replaceChildren(h("ul", {}, ...problems.map((p) => h("li", {}, p.text))));
    errorsEl.hidden = problems.length === 0;
    for (const p of problems) if (p.loc && p.loc.length) elementAt(p.loc).classList.add("sb-invalid");
  }

  function showCount(body) {
    countEl.textContent = String(body.count);
    countText.textContent = T.matches.replace("{count}", body.count).replace("{population}", body.population);
    readable.textContent = body.text;
    sampleEl.replaceChildren(
      ...body.sample.map((p) => h("li", {}, p.url ? h("a", { href: p.url }, p.id) : p.id)),
    );
    preview.dataset.count = String(body.count);
  }

  async function runPreview() {
    const condition = jsonArea.value.trim();
    const mine = ++asked;
    if (!condition) {
      countEl.textContent = "–";
      countText.textContent = T.empty;
      readable.textContent = "";
      sampleEl.replaceChildren();
      showProblems([]);
      delete preview.dataset.count;
      return;
    }
    preview.classList.add("counting");
    countText.textContent = T.counting;
    let response = null;
    let body = null;
    try {
      response = await fetch(config.previewUrl, {
        method: "POST",
        headers: { Accept: "application/json", "X-Requested-With": "fetch" },
        credentials: "same-origin",
        cache: "no-store",
        body: new URLSearchParams({ csrf_token: csrf, condition }),
      });
      body = await response.json().catch(() => null);
    } catch (error) {
      response = null;
    }
    if (mine !== asked) return; // a newer question is on its way
    preview.classList.remove("counting");
    if (response && response.status === 401) {
      window.location.reload();
      return;
    }
    if (response && response.ok && body) {
      showProblems([]);
      showCount(body);
      return;
    }
    countEl.textContent = "–";
    countText.textContent = "";
    sampleEl.replaceChildren();
    delete preview.dataset.count;
    if (body && body.errors) {
      showProblems(body.errors);
    } else {
      const said = body && body.error ? ` ${body.error.message}` : "";
      const status = response ? response.status : "—";
      showProblems([{ loc: [], text: T.preview_failed.replace("{status}", status) + said }]);
    }
  }

  // --- start -------------------------------------------------------------------------------

  const names = h("datalist", { id: "sb-events" });
  for (const name of config.events) names.append(h("option", { value: name }));
  root.after(names);

  root.addEventListener("input", changed);
  root.addEventListener("change", changed);
  jsonArea.addEventListener("input", () => {
    loadFromJson();
    schedulePreview();
  });
  loadFromJson();
  if (!rootGroup) load(null);
  root.dataset.ready = "true";
  runPreview();
})();
