/* Shows and hides the documentation form's questions as answers change (R4 enableWhen).
   The server checks everything again on submit; this only spares a round trip. No inline script
   (the page's Content-Security-Policy forbids it). Rules as in cds_service/forms/answers.py. */
(function () {
  "use strict";
  var form = document.getElementById("documentation-form");
  if (!form) { return; }
  var fixed = {};
  try { fixed = JSON.parse(form.getAttribute("data-fixed") || "{}"); } catch (e) { fixed = {}; }
  var items = Array.prototype.slice.call(form.querySelectorAll("[data-link-id]"));
  var byLinkId = {};
  items.forEach(function (el) { byLinkId[el.getAttribute("data-link-id")] = el; });

  function isOn(el) { return el.getAttribute("data-on") !== "0"; }

  function valuesOf(linkId) {
    var container = byLinkId[linkId];
    if (container && !isOn(container)) { return []; }
    if (Object.prototype.hasOwnProperty.call(fixed, linkId)) { return fixed[linkId]; }
    var out = [];
    Array.prototype.forEach.call(form.elements, function (input) {
      if (input.disabled || (input.name !== "a:" + linkId && input.name !== "o:" + linkId)) { return; }
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) { out.push(input.value); }
      } else if (input.value.trim() !== "") {
        out.push(input.value.trim());
      }
    });
    return out;
  }

  function stripPrefix(v) {
    var m = /^(integer|string|date|time):(.*)$/.exec(v);
    return m ? m[2] : v;
  }

  function equals(c, v) {
    if (c.kind === "coding") {
      if (v.indexOf("coding:") !== 0) { return false; }
      var rest = v.slice(7), bar = rest.indexOf("|");
      var system = rest.slice(0, bar), code = rest.slice(bar + 1);
      return code === c.code && (!c.system || !system || system === c.system);
    }
    if (c.kind === "boolean") { return v === c.value; }
    if (c.kind === "number") { return parseFloat(stripPrefix(v)) === Number(c.value); }
    return v === c.value || v === c.prefixed || stripPrefix(v) === c.value;
  }

  function order(c, v) {
    if (c.kind === "number") {
      var n = parseFloat(stripPrefix(v));
      if (isNaN(n)) { return null; }
      return n < c.value ? -1 : (n > c.value ? 1 : 0);
    }
    if (c.kind === "text") {
      var s = stripPrefix(v);
      if (s.length !== c.value.length && /^\d{4}/.test(c.value)) { return null; }
      return s < c.value ? -1 : (s > c.value ? 1 : 0);
    }
    return null;
  }

  function holds(c) {
    var vals = valuesOf(c.q);
    if (c.op === "exists") { return c.value === "false" ? vals.length === 0 : vals.length > 0; }
    if (!c.kind) { return false; }
    if (c.op === "=") { return vals.some(function (v) { return equals(c, v); }); }
    if (c.op === "!=") { return !vals.some(function (v) { return equals(c, v); }); }
    return vals.some(function (v) {
      var r = order(c, v);
      if (r === null) { return false; }
      return (c.op === "<" && r < 0) || (c.op === ">" && r > 0) || (c.op === "<=" && r <= 0) || (c.op === ">=" && r >= 0);
    });
  }

  function ownCondition(el) {
    var raw = el.getAttribute("data-enable-when");
    if (!raw) { return true; }
    var conditions;
    try { conditions = JSON.parse(raw); } catch (e) { return true; }
    var results = conditions.map(holds);
    return el.getAttribute("data-enable-behavior") === "any" ? results.some(Boolean) : results.every(Boolean);
  }

  function apply(el, on) {
    el.setAttribute("data-on", on ? "1" : "0");
    el.hidden = !on;
    Array.prototype.forEach.call(el.querySelectorAll("input, textarea, select"), function (input) {
      if (input.closest("[data-link-id]") === el) { input.disabled = !on; }
    });
  }

  function update() {
    for (var round = 0; round <= items.length; round += 1) {
      var changed = false;
      items.forEach(function (el) {
        var parent = el.parentElement ? el.parentElement.closest("[data-link-id]") : null;
        var on = (!parent || isOn(parent)) && ownCondition(el);
        if (on !== isOn(el)) { changed = true; apply(el, on); }
      });
      if (!changed) { break; }
    }
  }

  items.forEach(function (el) { apply(el, !el.hidden); });
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
