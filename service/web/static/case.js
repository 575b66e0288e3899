// The case page by keyboard: decide (Y/N), next case (L), step through sightings (J/K), tick (X), reject or restore one
// (R), split the ticked ones off (S), merge (M), undo (Z), the evidence viewer (Space or a click); Esc
// leaves any control, then goes back.
"use strict";

(() => {
  const rows = Array.from(document.querySelectorAll(".sighting-row"));
  let current = 0;

  function focusRow(index, scroll = true) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(index, rows.length - 1));
    rows.forEach((row, i) => row.classList.toggle("current", i === current));
    rows[current].focus({ preventScroll: true });
    if (scroll) rows[current].scrollIntoView({ block: "nearest" });
  }

  function submit(form) {
    if (form) form.requestSubmit();
  }

  function statusButton(value) {
    return document.querySelector('.status-actions button[name="status"][value="' + value + '"]');
  }

  // The evidence viewer: every sighting's keyframe (with its box) or crop, from row ``index``.
  function zoom(index) {
    const items = rows.map((row) => row.querySelector("img.zoom")).filter(Boolean).map((img) => ({ src: img.src, alt: img.alt }));
    const row = rows[index];
    const img = row && row.querySelector("img.zoom");
    viewer.open(items, img ? items.findIndex((item) => item.src === img.src) : 0);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || viewer.isOpen()) return;
    if (event.key === "Escape") {
      const control = event.target.closest && event.target.closest("input, select, textarea, button, a");
      if (control) { control.blur(); focusRow(current); }
      else window.history.back();
      event.preventDefault();
      return;
    }
    if (event.target.closest && event.target.closest("input:not(.split-pick), select, textarea")) return;
    if (event.key === " " && !event.target.closest("button, a, input")) { zoom(current); event.preventDefault(); return; }
    if (event.key === "Enter" || event.key === " ") return;
    const row = rows[current];
    const key = event.key.toLowerCase();
    if (key === "j") focusRow(current + 1);
    else if (key === "k") focusRow(current - 1);
    else if (key === "y" && statusButton("confirmed")) statusButton("confirmed").click();
    else if (key === "n" && statusButton("rejected")) statusButton("rejected").click();
    else if (key === "x" && row) { const box = row.querySelector(".split-pick"); if (box) box.checked = !box.checked; }
    else if (key === "r" && row) submit(row.querySelector("form.judge"));
    else if (key === "s") submit(document.getElementById("split-form"));
    else if (key === "m" && document.getElementById("merge-into")) document.getElementById("merge-into").select();
    else if (key === "l" && document.getElementById("next-case")) window.location.href = document.getElementById("next-case").href;
    else if (key === "z" && document.getElementById("undo")) submit(document.getElementById("undo-form"));
    else return;
    event.preventDefault();
  });

  rows.forEach((row, i) => row.addEventListener("click", (event) => {
    current = i;
    rows.forEach((r, j) => r.classList.toggle("current", j === i));
    if (event.target.closest("img.zoom")) zoom(i);
  }));
  focusRow(0, false);  // the page opens at its top: the case and its actions first
})();
