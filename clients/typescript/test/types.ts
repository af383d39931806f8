/**
 * Compile-time checks that the generated types are as strict as the API: each `@ts-expect-error`
 * below is an error tsc must find (an unneeded one is itself an error), so a looser document, or a
 * generator option that loosens the types, fails `tsc`. Nothing here runs.
 */
import type { CallProofClient, Schemas } from "../src/index.js";

export async function typeChecks(api: CallProofClient): Promise<void> {
  // A contact's type is one of the document's values.
  // @ts-expect-error "friend" is not a ContactType
  const wrongType: Schemas["ContactIn"] = { name: "Ada", type: "friend" };
  // A body takes no field the model forbids (additionalProperties: false).
  // @ts-expect-error ContactIn has no "notes"
  const extra: Schemas["ContactIn"] = { name: "Ada", type: "customer", notes: "x" };
  // A call entry needs the device it came from.
  // @ts-expect-error device_id is required
  const noDevice: Schemas["CallEntryIn"] = {
    client_id: "7c0f7a3e-2b59-4f3e-9a55-2f0b1e6c9d10",
    phone_number: "+14155550123",
    direction: "outbound",
    started_at: "2026-12-01T10:00:00Z",
    duration_seconds: 1,
  };
  void [wrongType, extra, noDevice];

  // A path that is not in the document, and a path parameter left out.
  // @ts-expect-error no such route
  await api.GET("/v1/nothing-here");
  // @ts-expect-error contact_id is required
  await api.GET("/v1/contacts/{contact_id}", { params: { path: {} } });

  // Answers: a field the API always sends is never `undefined` (`exactOptionalPropertyTypes`),
  // a null stays possible where the API sends null, and an error answer is the `Error` shape.
  const { data, error } = await api.POST("/v1/call-logs", { body: { entries: [] } });
  if (data) {
    const first = data.results[0];
    if (first) {
      const callId: string | null = first.call_id;
      const match: Schemas["MatchOut"] | null = first.match;
      // @ts-expect-error call_id may be null
      const notNull: string = first.call_id;
      void [callId, match, notNull];
    }
  } else {
    const code: string = error.error.code;
    const field: string | null = error.error.field;
    void [code, field];
  }
  const contact = await api.GET("/v1/contacts/{contact_id}", { params: { path: { contact_id: "c" } } });
  const phone = contact.data?.phones[0];
  if (phone) {
    const extension: string | null = phone.extension;
    void extension;
  }
}
