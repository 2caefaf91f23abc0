// api.js: a thin client for the pet-store API (see /openapi.yaml).
var PetApi = (function () {
  "use strict";

  function ApiError(status, message, details) {
    this.name = "ApiError";
    this.status = status;
    this.message = message;
    this.details = details || [];
  }
  ApiError.prototype = Object.create(Error.prototype);

  async function request(method, path, body) {
    var init = { method: method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    var response = await fetch(path, init);
    var payload = null;
    var text = await response.text();
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch (err) {
        throw new ApiError(response.status, "invalid JSON from " + path);
      }
    }
    if (!response.ok) {
      var message = payload && payload.message ? payload.message : response.status + " from " + path;
      throw new ApiError(response.status, message, payload && payload.details);
    }
    return payload;
  }

  return {
    ApiError: ApiError,
    stats: function () { return request("GET", "/api/stats"); },
    health: function () { return request("GET", "/health"); },
    listPets: function (limit) { return request("GET", "/api/pets?limit=" + (limit || 100)); },
    listUsers: function (limit) { return request("GET", "/api/users?limit=" + (limit || 100)); },
    createPet: function (pet) { return request("POST", "/api/pets", pet); },
  };
})();
