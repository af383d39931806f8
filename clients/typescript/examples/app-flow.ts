/**
 * What the mobile and web apps do, through the typed client, in order:
 * sign in with a token, answer the age question (once per user), create a contact, upload a
 * call-log batch, read the contact's calls, send an SMS, read consent.
 *
 * Run against a stack (README.md in this folder):
 *   CALLPROOF_API_URL=http://127.0.0.1:3000 CALLPROOF_TOKEN=<ID token> \
 *   CALLPROOF_CONTACT_PHONE=+14155550123 npm run example
 * It prints one JSON line of what it saw; any error answer stops it with the API's error code.
 */
import { randomUUID } from "node:crypto";

import { CallProofError, createCallProofClient, ok, type Schemas } from "../src/index.js";

function setting(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`set ${name}`);
  }
  return value;
}

async function main(): Promise<void> {
  // 1. Sign in: the app holds the Cognito ID token (locally, `callproof token ...` mints one).
  const api = createCallProofClient({
    baseUrl: setting("CALLPROOF_API_URL"),
    token: setting("CALLPROOF_TOKEN"),
  });
  const me = await ok(api.GET("/v1/me"));

  // The age question, asked of every user once (sign-up's age step): until it is answered, every
  // route but the profile, consents and the question itself answers 428 `age_confirmation_required`.
  // The app asks the user; this example's user is 16 or over (under 16: `birth_date` and a guardian).
  const age = await api.GET("/v1/me/age");
  if (age.response.status === 404) {
    await ok(api.PUT("/v1/me/age", { body: { attests_16_or_over: true } }));
  } else {
    await ok(Promise.resolve(age)); // answered before; any other error answer stops here
  }

  // 2. Create a contact: a customer, since only customers are texted. The Idempotency-Key makes a
  // retry after a lost answer return the same contact instead of a second one.
  const phone = setting("CALLPROOF_CONTACT_PHONE");
  const newContact: Schemas["ContactIn"] = { name: "Ada Lovelace", type: "customer", phones: [phone] };
  const contact = await ok(
    api.POST("/v1/contacts", {
      params: { header: { "Idempotency-Key": randomUUID() } },
      body: newContact,
    }),
  );

  // 3. Upload a call-log batch from this phone (registered first; a call is matched by number).
  const deviceId = `example-${randomUUID()}`;
  await ok(
    api.PUT("/v1/devices/{device_id}", {
      params: { path: { device_id: deviceId } },
      body: { device_type: "phone", os_name: "iOS", os_version: "18.1", app_version: "4.2.0" },
    }),
  );
  const call: Schemas["CallEntryIn"] = {
    client_id: randomUUID(), // made on the phone: uploading the batch again stores nothing twice
    phone_number: phone,
    direction: "outbound",
    started_at: new Date(Date.now() - 5 * 60_000).toISOString(),
    duration_seconds: 95,
    device_id: deviceId,
  };
  const upload = await ok(api.POST("/v1/call-logs", { body: { entries: [call] } }));
  const [result] = upload.results;
  if (result === undefined || result.status !== "stored") {
    throw new Error(`the call was not stored: ${JSON.stringify(result)}`);
  }

  // 4. Read the contact's calls, newest first.
  const calls = await ok(
    api.GET("/v1/contacts/{contact_id}/calls", {
      params: { path: { contact_id: contact.id }, query: { limit: 10 } },
    }),
  );

  // 5. Send an SMS from the org's Twilio number.
  const message = await ok(
    api.POST("/v1/sms/messages", {
      params: { header: { "Idempotency-Key": randomUUID() } },
      body: { contact_id: contact.id, body: "Thanks for your time today. Ada's notes follow." },
    }),
  );

  // 6. Read consent: the contact's SMS consent, and the signed-in user's own consents.
  const sms = await ok(api.POST("/v1/sms/consent/lookup", { body: { phone } }));
  const mine = await ok(api.GET("/v1/me/consents"));

  // Error answers are typed too: another org's contact, or one that is gone, is a 404 `Error`.
  let missing: string | undefined;
  try {
    await ok(api.GET("/v1/contacts/{contact_id}", { params: { path: { contact_id: "no-such-contact" } } }));
  } catch (error) {
    if (!(error instanceof CallProofError) || error.status !== 404) {
      throw error;
    }
    missing = `${error.status} ${error.code}`;
  }

  const seen = {
    me: { org_id: me.org_id, user_id: me.user_id, roles: me.roles },
    contact: { id: contact.id, e164: contact.phones.map((p) => p.e164) },
    upload: { call_id: result.call_id, match: result.match, counts: upload.counts },
    calls: calls.items.map((c) => ({ id: c.id, e164: c.e164, contact_ids: c.match.contact_ids })),
    message: { id: message.id, phone: message.phone, status: message.status, sid: message.message_sid },
    sms_consent: { phone: sms.phone, status: sms.status, history: sms.history.length },
    my_consents: Object.keys(mine.current).sort(),
    missing,
  };
  console.log(JSON.stringify(seen));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
