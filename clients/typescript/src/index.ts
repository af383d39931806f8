/**
 * The CallProof API client for the web and mobile apps: openapi-fetch over the types that
 * openapi-typescript generates from docs/openapi.json (`npm run generate` writes src/schema.d.ts).
 *
 * Every call is typed by its path and method: the path and query parameters, the body, the success
 * answer (`data`) and the error answer (`error`, always the API's `Error` shape on JSON routes).
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

/** The API's models by name, as the document names them: `Schemas["ContactOut"]`. */
export type Schemas = components["schemas"];

/** The body of every error answer: `code` to branch on, `message` for people, `field` and `details`. */
export type ErrorBody = Schemas["Error"]["error"];

/**
 * The Cognito ID token the app signed in with, or a function that returns the current one (called
 * before each request, so an app that refreshes its tokens passes its refresh function).
 */
export type TokenSource = string | (() => string | Promise<string>);

export interface CallProofOptions {
  /** The API's URL: the stack's `ApiUrl` output in the cloud, `http://127.0.0.1:3000` locally. */
  baseUrl: string;
  token: TokenSource;
  /** Another fetch (tests, React Native polyfills); the global fetch otherwise. */
  fetch?: (input: Request) => Promise<Response>;
}

export type CallProofClient = Client<paths, "application/json">;

export function createCallProofClient(options: CallProofOptions): CallProofClient {
  const client = createClient<paths, "application/json">({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  client.use(bearer(options.token));
  return client;
}

function bearer(token: TokenSource): Middleware {
  return {
    async onRequest({ request }) {
      const value = typeof token === "string" ? token : await token();
      request.headers.set("Authorization", `Bearer ${value}`);
      return request;
    },
  };
}

/** An error answer: its HTTP status and the `Error` body (`code`, `message`, `field`, `details`). */
export class CallProofError extends Error {
  readonly status: number;
  readonly body: ErrorBody;

  constructor(status: number, body: ErrorBody) {
    super(`${status} ${body.code}: ${body.message}`);
    this.name = "CallProofError";
    this.status = status;
    this.body = body;
  }

  get code(): string {
    return this.body.code;
  }
}

type Answer<T, E> =
  | { data: T; error?: never; response: Response }
  | { data?: never; error: E; response: Response };

/**
 * The success answer's data, or a `CallProofError` thrown for an error answer:
 * `const contact = await ok(api.POST("/v1/contacts", { body }))`.
 * A 428 means the user must first answer the age question (`age_confirmation_required`:
 * `PUT /v1/me/age`) or consent to a significant policy version (`policy_consent_required`:
 * `POST /v1/me/consents`).
 */
export async function ok<T, E>(pending: Promise<Answer<T, E>>): Promise<T> {
  const answer = await pending;
  if (answer.error === undefined && answer.response.ok) {
    return answer.data as T;
  }
  const error: unknown = answer.error;
  if (isErrorShape(error)) {
    throw new CallProofError(answer.response.status, error.error);
  }
  const body: ErrorBody = {
    code: "unexpected_answer",
    message: `${answer.response.status} ${answer.response.statusText}`,
    field: null,
    details: [],
  };
  throw new CallProofError(answer.response.status, body);
}

function isErrorShape(value: unknown): value is Schemas["Error"] {
  if (typeof value !== "object" || value === null || !("error" in value)) {
    return false;
  }
  const body: unknown = value.error;
  return typeof body === "object" && body !== null && "code" in body && typeof body.code === "string";
}
