// Boxes on the buy page's seat map (tessera/groupsales): each box on sale is outlined over
// its seats with its name and price; clicking it (or Enter on it) picks its card under the
// map, whose one button buys the box whole. The boxes come from the page
// (#seatmap-boxes: x, y, width, height on the plan, name, price, available).
const data = document.getElementById("seatmap-boxes");
const svg = document.getElementById("sm-svg");
if (data && svg) {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const boxes = JSON.parse(data.textContent);
  const viewport = svg.querySelector(".sm-viewport");
  const layer = document.createElementNS(SVG_NS, "g");
  layer.setAttribute("class", "sm-boxes");
  const home = (svg.dataset.home || "0 0 1000 1000").split(/\s+/).map(Number);
  const pad = Math.max(home[2], home[3]) * 0.006;
  const fontSize = Math.max(home[2], home[3]) * 0.02;

  const choose = (box) => {
    document.querySelectorAll(".box-card.is-chosen").forEach((el) => el.classList.remove("is-chosen"));
    const card = document.getElementById(`box-${box.id}`);
    if (!card) return;
    card.classList.add("is-chosen");
    card.scrollIntoView({ behavior: "smooth", block: "center" });
    const button = card.querySelector("button");
    if (button) button.focus({ preventScroll: true });
  };

  for (const box of boxes) {
    const rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("class", box.available ? "sm-box" : "sm-box is-taken");
    rect.setAttribute("x", box.x - pad);
    rect.setAttribute("y", box.y - pad);
    rect.setAttribute("width", box.width + 2 * pad);
    rect.setAttribute("height", box.height + 2 * pad);
    rect.setAttribute("rx", pad);
    rect.setAttribute("stroke-width", pad * 0.4);
    rect.setAttribute("tabindex", "0");
    rect.setAttribute("role", "button");
    rect.setAttribute("id", `sm-box-${box.id}`);
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = box.name;
    rect.appendChild(title);
    const label = document.createElementNS(SVG_NS, "text");
    label.setAttribute("class", "sm-box-label");
    label.setAttribute("x", box.x + box.width / 2);
    label.setAttribute("y", box.y - pad * 1.6);
    label.setAttribute("text-anchor", "middle");
    label.setAttribute("font-size", fontSize);
    const card = document.getElementById(`box-${box.id}`);
    const price = card ? card.querySelector(".box-price") : null;
    label.textContent = `${box.name} · ${price ? price.textContent.trim() : box.price}`;
    rect.setAttribute("aria-label", label.textContent);
    rect.addEventListener("click", (event) => {
      event.stopPropagation();
      choose(box);
    });
    rect.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        event.stopPropagation();
        choose(box);
      }
    });
    layer.append(rect, label);
  }
  viewport.appendChild(layer);
}
