// Shared by every page: draw each keyframe's box from its bbox and the image's natural size.
"use strict";

function placeBox(img) {
  const box = img.parentElement.querySelector(".box");
  const [x1, y1, x2, y2] = (img.dataset.bbox || "").split(",").map(Number);
  if (!box || !img.naturalWidth || [x1, y1, x2, y2].some(Number.isNaN)) return;
  const w = img.naturalWidth, h = img.naturalHeight;
  box.style.left = (100 * x1 / w) + "%";
  box.style.top = (100 * y1 / h) + "%";
  box.style.width = (100 * (x2 - x1) / w) + "%";
  box.style.height = (100 * (y2 - y1) / h) + "%";
  box.classList.add("shown");
}

// load does not bubble: listen in the capture phase to catch every image, lazy ones included.
document.addEventListener("load", (event) => {
  if (event.target.matches && event.target.matches("img.keyframe")) placeBox(event.target);
}, true);

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("img.keyframe").forEach((img) => { if (img.complete) placeBox(img); });
});
