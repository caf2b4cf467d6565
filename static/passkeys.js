// Passkeys: the WebAuthn calls of the sign-in page ("Sign in with a
// passkey") and of /account/passkeys ("Add a passkey"). The server sends
// the options and checks the answers; this file only carries them between
// it and navigator.credentials. Without it (or without WebAuthn) the pages
// still work for password users: the passkey parts stay hidden or disabled.
(function () {
  "use strict";

  function toBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrf(form) {
    var input = form.querySelector('input[name="_csrf"]');
    return input ? input.value : "";
  }

  function post(form, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(form) },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (res) {
      if (!res.ok) throw new Error("The passkey could not be used (" + res.status + ").");
      return res.json();
    });
  }

  function encodeAssertion(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toB64(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: toB64(r.clientDataJSON), authenticatorData: toB64(r.authenticatorData),
        signature: toB64(r.signature), userHandle: r.userHandle ? toB64(r.userHandle) : undefined
      }
    };
  }

  function encodeAttestation(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toB64(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: toB64(r.clientDataJSON), attestationObject: toB64(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      }
    };
  }

  function getOptions(options) {
    var pk = options.publicKey;
    pk.challenge = toBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return { publicKey: pk };
  }

  function createOptions(options) {
    var pk = options.publicKey;
    pk.challenge = toBuf(pk.challenge);
    pk.user.id = toBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return { publicKey: pk };
  }

  function status(form, text) {
    var el = form.querySelector("[data-passkey-status]");
    if (el) el.textContent = text;
  }

  // Exposed for tests that tamper with an answer before it is sent.
  window.plannerPasskeys = { toBuf: toBuf, toB64: toB64, encodeAssertion: encodeAssertion, getOptions: getOptions, post: post };

  if (!window.PublicKeyCredential || !navigator.credentials) return;

  var login = document.getElementById("passkey-login");
  if (login) {
    login.hidden = false;
    login.addEventListener("submit", function (ev) {
      ev.preventDefault();
      status(login, "Waiting for your passkey…");
      post(login, "/login/passkey/options").then(function (options) {
        return navigator.credentials.get(getOptions(options));
      }).then(function (cred) {
        var next = login.querySelector('input[name="next"]');
        return post(login, "/login/passkey", { next: next ? next.value : "", credential: encodeAssertion(cred) });
      }).then(function (res) {
        window.location.assign(res.redirect);
      }).catch(function (err) {
        status(login, err.message || "The passkey could not be used.");
      });
    });
  }

  var register = document.getElementById("passkey-register");
  if (register) {
    var button = register.querySelector('button[type="submit"]');
    if (button) button.disabled = false;
    status(register, "");
    register.addEventListener("submit", function (ev) {
      ev.preventDefault();
      status(register, "Waiting for your device…");
      post(register, "/account/passkeys/options").then(function (options) {
        return navigator.credentials.create(createOptions(options));
      }).then(function (cred) {
        var name = register.querySelector('input[name="name"]');
        return post(register, "/account/passkeys", { name: name ? name.value : "", credential: encodeAttestation(cred) });
      }).then(function (res) {
        window.location.assign(res.redirect);
      }).catch(function (err) {
        status(register, err.message || "The passkey could not be added.");
      });
    });
  }
})();
