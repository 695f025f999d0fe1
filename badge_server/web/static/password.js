// The password pages: "Show my password" (a child checks what they typed) and the countdown
// after too many tries, so nobody has to guess when to try again.
"use strict";
document.querySelectorAll("input[data-shows]").forEach((box) => {
  box.addEventListener("change", () => {
    box.dataset.shows.split(" ").forEach((id) => {
      const field = document.getElementById(id);
      if (field) field.type = box.checked ? "text" : "password";
    });
  });
});
const wait = document.querySelector(".notice.wait");
if (wait) {
  let left = Number(wait.dataset.wait);
  const button = document.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  const tick = setInterval(() => {
    left -= 1;
    wait.querySelector(".seconds").textContent = String(Math.max(left, 0));
    if (left <= 0) {
      clearInterval(tick);
      wait.textContent = "You can try again now.";
      if (button) button.disabled = false;
    }
  }, 1000);
}
