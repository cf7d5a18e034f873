"use strict";
document.getElementById("print").addEventListener("click", () => window.print());
// Each share's bar, as wide as its percentage (set here: the page allows no inline styles).
for (const bar of document.querySelectorAll(".summary-bar[data-pct]")) {
  const pct = Math.max(0, Math.min(100, Number(bar.dataset.pct) || 0));
  bar.style.width = `calc((100% - 5rem) * ${pct / 100})`;
}
