// Public votes: send the ballot to the JSON API without a reload (the form works without this).
//
// Every text comes from the form's data attributes (translated by the server); labels go in
// with textContent only. The API answers {error, message} when it refuses (closed, voted
// already, too many choices…): the message is shown as it is.

function bdi(text) {
  const node = document.createElement("bdi");
  node.textContent = text;
  return node;
}

function setup(form) {
  const box = form.closest(".ballot");
  const error = form.querySelector(".vote-error");
  const submit = form.querySelector(".vote-submit");
  const done = box.querySelector(".vote-done");
  const max = Number(form.dataset.max) || 1;
  const token = form.querySelector("input[name=csrf_token]");

  function fail(message) {
    error.textContent = message || form.dataset.failed;
    error.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const chosen = [...form.querySelectorAll("input[name=option]:checked")];
    if (!chosen.length) return fail(form.dataset.none);
    if (chosen.length > max) return fail(form.dataset.tooMany);
    submit.disabled = true;
    let response = null;
    let body = {};
    try {
      response = await fetch(form.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
        body: JSON.stringify({ option_ids: chosen.map((input) => Number(input.value)) }),
      });
      body = await response.json().catch(() => ({}));
    } catch (_error) {
      submit.disabled = false;
      return fail(form.dataset.failed);
    }
    submit.disabled = false;
    if (!response.ok) return fail(body.message);
    const mine = done.querySelector(".vote-mine");
    mine.replaceChildren(`${form.dataset.chose} `);
    chosen.forEach((input, i) => {
      if (i) mine.append("、");
      mine.append(bdi(input.dataset.label));
    });
    form.remove();
    done.hidden = false;
    done.focus?.();
  });
}

for (const form of document.querySelectorAll("form.vote-form[data-api]")) setup(form);
