// main.js: wires the API to the views.
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };

  async function load(target, fetcher, render) {
    try {
      render($(target), await fetcher());
    } catch (err) {
      Views.renderError($(target), err);
    }
  }

  function refresh() {
    return Promise.all([
      load("stats", PetApi.stats, Views.renderStats),
      load("pets", PetApi.listPets, Views.renderPets),
      load("users", PetApi.listUsers, Views.renderUsers),
    ]);
  }

  async function onNewPet(event) {
    event.preventDefault();
    var form = event.target;
    var error = $("new-pet-error");
    error.hidden = true;
    try {
      await PetApi.createPet({ name: form.elements.name.value.trim(), species: form.elements.species.value });
      form.reset();
      await refresh();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  async function footer() {
    try {
      var health = await PetApi.health();
      $("footer").textContent = "petstore " + health.version + " · status " + health.status;
    } catch (err) {
      $("footer").textContent = "health check failed: " + err.message;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("new-pet").addEventListener("submit", onNewPet);
    refresh().then(function () { document.body.dataset.ready = "true"; });
    footer();
  });
})();
