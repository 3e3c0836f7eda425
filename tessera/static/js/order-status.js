// The order page while a payment is on its way: asks the order and payment API (a small
// JSON read) every few seconds and reloads the page once when either has changed, so the
// fan sees the tickets, or the failure with "pay again", without a reload every 5 seconds.
const box = document.getElementById("order-watch");
if (box) {
  const { orderUrl, orderStatus, paymentUrl, paymentStatus } = box.dataset;
  const read = async (url) => {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  };
  let delay = 2000;
  const check = async () => {
    try {
      const order = await read(orderUrl);
      let changed = order.status !== orderStatus;
      if (!changed && paymentUrl) changed = (await read(paymentUrl)).status !== paymentStatus;
      if (changed) {
        window.location.reload();
        return;
      }
    } catch (_error) {
      // offline or signed out for a moment: try again later
    }
    delay = Math.min(Math.round(delay * 1.3), 15000);
    setTimeout(check, delay);
  };
  setTimeout(check, delay);
}
