// views.js: DOM rendering. Data goes in through textContent only, never as HTML.
var Views = (function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function statCard(key, label, value) {
    var card = el("div", "stat");
    card.dataset.stat = key;
    card.appendChild(el("div", "value", value));
    card.appendChild(el("div", "label", label));
    return card;
  }

  function renderStats(container, stats) {
    var byStatus = stats.petsByStatus || {};
    var cards = [
      statCard("pets", "Pets", stats.pets),
      statCard("users", "Users", stats.users),
      statCard("posts", "Posts", stats.posts),
      statCard("available", "Available for adoption", byStatus.available || 0),
      statCard("adopted", "Adopted", byStatus.adopted || 0),
      statCard("species", "Species", Object.keys(stats.petsBySpecies || {}).length),
    ];
    container.replaceChildren.apply(container, cards);
    container.dataset.state = "ready";
  }

  function petItem(pet) {
    var li = el("li");
    li.dataset.petId = pet.id;
    var who = el("div");
    who.appendChild(el("div", "name", pet.name));
    var meta = pet.species + (pet.age !== undefined ? ", " + pet.age + " y" : "");
    if (pet.tags && pet.tags.length) meta += " · " + pet.tags.join(", ");
    who.appendChild(el("div", "meta", meta));
    li.appendChild(who);
    li.appendChild(el("span", "badge " + pet.status, pet.status));
    return li;
  }

  function userItem(user) {
    var li = el("li");
    li.dataset.userId = user.id;
    var who = el("div");
    who.appendChild(el("div", "name", user.displayName));
    who.appendChild(el("div", "meta", "@" + user.username + " · " + user.email));
    li.appendChild(who);
    li.appendChild(el("span", "badge " + user.role, user.role));
    return li;
  }

  function renderList(container, items, render) {
    container.replaceChildren.apply(container, items.map(render));
    container.dataset.state = "ready";
  }

  function renderError(container, err) {
    container.replaceChildren(el("li", "error", "Could not load: " + err.message));
    container.dataset.state = "error";
  }

  return {
    renderStats: renderStats,
    renderPets: function (c, pets) { renderList(c, pets, petItem); },
    renderUsers: function (c, users) { renderList(c, users, userItem); },
    renderError: renderError,
  };
})();
