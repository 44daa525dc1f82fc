/* Journal entry grid (ledger/admin_journal.py): running totals, keyboard entry, spreadsheet paste.
   Served as a static file: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  function init() {
    var table = document.getElementById("je-lines");
    if (!table) { return; }
    var body = table.tBodies[0];
    var total = document.getElementById("id_lines-TOTAL_FORMS");
    var template = document.getElementById("je-line-template");

    // Amounts as typed or pasted: "1,234.50" and "1 234.50" read as 1234.50.
    function number(text) {
      var cleaned = String(text || "").replace(/[\s,\u00a0']/g, "");
      if (cleaned === "") { return 0; }
      var n = Number(cleaned);
      return isFinite(n) ? n : NaN;
    }
    function cleanAmount(text) {
      return String(text || "").replace(/[\s,\u00a0']/g, "");
    }
    function cell(row, name) { return row.querySelector(".je-" + name); }
    function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr.je-row")); }

    function renumber() {
      rows().forEach(function (row, i) { row.querySelector(".je-no").textContent = String(i + 1); });
    }

    function addRow() {
      var index = Number(total.value);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("tbody");
      holder.innerHTML = html;
      var row = holder.querySelector("tr");
      body.appendChild(row);
      total.value = String(index + 1);
      renumber();
      return row;
    }

    function format(n) {
      return n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 4 });
    }

    function recalc() {
      var debit = 0, credit = 0, bad = false;
      rows().forEach(function (row) {
        var rateText = cell(row, "rate").value;
        var rate = rateText.trim() === "" ? 1 : number(rateText);
        var d = number(cell(row, "debit").value), c = number(cell(row, "credit").value);
        if (isNaN(d) || isNaN(c) || isNaN(rate)) { bad = true; return; }
        debit += d * rate;
        credit += c * rate;
      });
      var diff = Math.round((debit - credit) * 10000) / 10000;
      document.getElementById("je-total-debit").textContent = format(debit);
      document.getElementById("je-total-credit").textContent = format(credit);
      var out = document.getElementById("je-difference");
      out.textContent = bad ? "?" : format(diff);
      out.classList.toggle("je-balanced", !bad && diff === 0 && debit !== 0);
      out.classList.toggle("je-unbalanced", bad || diff !== 0);
    }

    // Paste tab-separated rows (account code, debit, credit, memo, counterparty, dimensions; the
    // last three optional) from the cell's row down.
    function paste(event) {
      var target = event.target;
      var row = target.closest && target.closest("tr.je-row");
      if (!row) { return; }
      var text = (event.clipboardData || window.clipboardData).getData("text");
      if (text.indexOf("\t") === -1 && text.replace(/\r?\n$/, "").indexOf("\n") === -1) { return; }
      event.preventDefault();
      var lines = text.replace(/\r\n?/g, "\n").split("\n").filter(function (l) { return l.trim() !== ""; });
      var all = rows(), at = all.indexOf(row);
      lines.forEach(function (line) {
        var cols = line.split("\t");
        var r = all[at] || addRow();
        all = rows();
        cell(r, "account").value = (cols[0] || "").trim();
        cell(r, "debit").value = cleanAmount(cols[1]);
        cell(r, "credit").value = cleanAmount(cols[2]);
        cell(r, "memo").value = (cols[3] || "").trim();
        cell(r, "counterparty").value = (cols[4] || "").trim();
        cell(r, "dimensions").value = (cols[5] || "").trim();
        at += 1;
      });
      recalc();
    }

    // Enter moves to the same column one line down (a new line at the end), never submits.
    function keydown(event) {
      if (event.key !== "Enter" || event.target.tagName !== "INPUT") { return; }
      event.preventDefault();
      var row = event.target.closest("tr.je-row");
      var cls = Array.prototype.filter.call(event.target.classList, function (c) { return c.indexOf("je-") === 0; })[0];
      var next = row.nextElementSibling || addRow();
      var input = next.querySelector("." + cls) || next.querySelector("input");
      input.focus();
    }

    body.addEventListener("input", recalc);
    body.addEventListener("paste", paste);
    body.addEventListener("keydown", keydown);
    document.getElementById("je-add-line").addEventListener("click", function () {
      cell(addRow(), "account").focus();
    });
    recalc();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
