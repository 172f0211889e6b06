// The lots page: a chosen photo is uploaded at once (PUT /api/uploads, the console's session
// and CSRF token) and its address put in the lot's photo field; the form then saves it.
const csrf = document.body.dataset.csrf;

for (const picker of document.querySelectorAll("input.lot-photo")) {
  picker.addEventListener("change", async () => {
    const form = picker.closest("form");
    const status = form.querySelector("[role=status]");
    const file = picker.files[0];
    if (!file) return;
    status.textContent = "…";
    const answer = await fetch("/api/uploads", {
      method: "PUT",
      headers: { "Content-Type": file.type, "X-CSRF-Token": csrf },
      body: file,
    });
    const body = await answer.json();
    if (!answer.ok) {
      status.textContent = body.detail || String(answer.status);
      return;
    }
    form.elements.image_url.value = body.url;
    status.textContent = "✓";
  });
}
