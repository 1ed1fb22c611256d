// Signs and judges webhook deliveries with the owners' own libraries
// (Standard Webhooks, GitHub's Octokit, Stripe) and prints them as JSON:
// handler/signature's TestOwnersLibraryVectors checks that hookline's
// verifier accepts exactly what the owners' verifiers accept.
import { Webhook } from "standardwebhooks";
import { sign as ghSign, verify as ghVerify } from "@octokit/webhooks-methods";
import Stripe from "stripe";

const now = Math.floor(Date.now() / 1000);
const bodies = [
  '{"type":"invoice.paid","id":"evt_1"}',
  '{"emoji":"\u{1F680}","accents":"\u00e9\u00e0\u00fc","quote":"it\'s \\"quoted\\""}',
  "payload=%7B%22a%22%3A1%7D",
  "",
];
const out = [];

// Standard Webhooks: whsec_ secrets, several signatures per header.
const swSecrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" + Buffer.from("another-32-byte-secret-for-tests").toString("base64")];
const swJudge = (secret, headers, body) => {
  try { new Webhook(secret).verify(body, headers); return true; } catch { return false; }
};
// The library's verify also parses the payload as JSON, so only JSON (or
// empty) bodies tell its signature check apart.
bodies.filter((b) => b === "" || b.startsWith("{")).forEach((body, i) => {
  const id = `msg_${i}`;
  const good = new Webhook(swSecrets[0]).sign(id, new Date(now * 1000), body);
  const other = new Webhook(swSecrets[1]).sign(id, new Date(now * 1000), body);
  for (const [name, sig, b] of [
    ["one signature", good, body],
    ["another secret's signature, then the right one", `${other} ${good}`, body],
    ["a malformed entry, then the right one", `v1,garbage ${good}`, body],
    ["only the wrong secret", other, body],
    ["tampered body", good, body + " "],
  ]) {
    const headers = { "webhook-id": id, "webhook-timestamp": String(now), "webhook-signature": sig };
    out.push({ scheme: "standard-webhooks", name: `${name} #${i}`, secret: swSecrets[0], headers, body: b, at: now, ownerAccepts: swJudge(swSecrets[0], headers, b) });
  }
});

// GitHub: sha256= hex over the body only.
const ghSecret = "It's a Secret to Everybody";
for (const [i, body] of bodies.filter((b) => b !== "").entries()) { // Octokit refuses an empty payload
  const good = await ghSign(ghSecret, body);
  for (const [name, sig, b] of [
    ["signed", good, body],
    ["tampered body", good, body + "x"],
    ["another secret", await ghSign("not the secret", body), body],
  ]) {
    out.push({ scheme: "github", name: `${name} #${i}`, secret: ghSecret, headers: { "X-Hub-Signature-256": sig }, body: b, at: now, ownerAccepts: await ghVerify(ghSecret, b, sig) });
  }
}

// Stripe: t=,v1= over "<t>.<body>", several v1 entries allowed.
const stripe = new Stripe("sk_test_hookline_vectors");
const stSecret = "whsec_stripe_test_secret";
const stJudge = (body, header) => {
  try { stripe.webhooks.constructEvent(body, header, stSecret, 300); return true; } catch { return false; }
};
bodies.slice(0, 2).forEach((body, i) => {
  const good = stripe.webhooks.generateTestHeaderString({ payload: body, secret: stSecret, timestamp: now });
  const wrong = stripe.webhooks.generateTestHeaderString({ payload: body, secret: "whsec_wrong", timestamp: now });
  const goodV1 = good.split(",").find((p) => p.startsWith("v1="));
  const wrongV1 = wrong.split(",").find((p) => p.startsWith("v1="));
  for (const [name, header, b] of [
    ["one signature", good, body],
    ["a bad v1 first", `t=${now},v1=deadbeef,${goodV1}`, body],
    ["wrong secret's v1 then the right one, and a v0", `t=${now},${wrongV1},${goodV1},v0=abc`, body],
    ["only the wrong secret", wrong, body],
    ["tampered body", good, body + " "],
  ]) {
    out.push({ scheme: "stripe", name: `${name} #${i}`, secret: stSecret, headers: { "Stripe-Signature": header }, body: b, at: now, ownerAccepts: stJudge(b, header) });
  }
});

process.stdout.write(JSON.stringify(out));
