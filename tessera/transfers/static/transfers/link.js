// The one-time link page: select the link on focus, copy it with the button.
const input = document.getElementById("transfer-link");
const button = document.getElementById("copy-link");
if (input && button) {
  input.addEventListener("focus", () => input.select());
  button.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (error) {
      document.execCommand("copy");
    }
    button.textContent = button.dataset.done;
  });
}
