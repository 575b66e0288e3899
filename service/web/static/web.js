// Shared by every page: crops shown at least 240 px on their long side (small ones upscaled crisp), and
// the evidence viewer: a full-size image with its box, arrows stepping through a case's sightings.
"use strict";

const MIN_LONG_SIDE = 240;

function sizeCrop(img) {
  const long = Math.max(img.naturalWidth, img.naturalHeight);
  if (!long) return;
  const scale = Math.max(1, MIN_LONG_SIDE / long);
  img.style.width = Math.round(img.naturalWidth * scale) + "px";
  img.classList.toggle("upscaled", scale > 1);
}

// load does not bubble: listen in the capture phase to catch every image, lazy ones included.
document.addEventListener("load", (event) => {
  if (event.target.matches && event.target.matches("img.crop")) sizeCrop(event.target);
}, true);

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("img.crop").forEach((img) => { if (img.complete) sizeCrop(img); });
});

// The viewer: ``items`` are {src, alt}; the arrow keys and buttons step, Esc closes.
const viewer = {
  items: [],
  index: 0,
  dialog: () => document.getElementById("viewer"),
  isOpen() { const d = viewer.dialog(); return Boolean(d && d.open); },
  open(items, index) {
    if (!items.length) return;
    viewer.items = items;
    viewer.show(index);
    if (!viewer.isOpen()) viewer.dialog().showModal();
    document.getElementById("viewer-next").focus();
  },
  show(index) {
    viewer.index = (index + viewer.items.length) % viewer.items.length;
    const item = viewer.items[viewer.index];
    const img = document.getElementById("viewer-image");
    img.src = item.src;
    img.alt = item.alt;
    document.getElementById("viewer-caption").textContent = item.alt;
    document.getElementById("viewer-count").textContent = (viewer.index + 1) + " / " + viewer.items.length;
  },
};

document.addEventListener("DOMContentLoaded", () => {
  const dialog = viewer.dialog();
  if (!dialog) return;
  document.getElementById("viewer-prev").addEventListener("click", () => viewer.show(viewer.index - 1));
  document.getElementById("viewer-next").addEventListener("click", () => viewer.show(viewer.index + 1));
  document.getElementById("viewer-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "ArrowRight") viewer.show(viewer.index + 1);
    else if (event.key === "ArrowLeft") viewer.show(viewer.index - 1);
    else return;
    event.preventDefault();
  });
});
