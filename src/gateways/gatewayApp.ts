import { randomUUID } from "node:crypto";
import Fastify, { LogController, type FastifyBaseLogger } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { pathPattern, withoutNul } from "../domain/text.js";
import { nodeMetrics, type NodeMetrics } from "../adapters/metrics/registry.js";
import { serveApiDocs } from "./apiDocs.js";
import { installErrorReplies } from "./errors.js";
import { gatewayLogger, logEveryRequest, type LogLevel, type LogLine } from "./gatewayLog.js";
import { acceptStrictJson } from "./jsonBody.js";
import { serveMetrics } from "./metricsRoute.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The body's fields that hold data, a program's output rather than typed text: kept
     * exactly, NULs included. JSON Pointers, with "*" standing for any one array index.
     */
    readonly data?: readonly string[];
  }
}

export interface GatewayOptions {
  /** Names the service in the log: "coordinator", "inference", ... */
  readonly service: string;
  readonly bodyLimit: number;
  /** What the API is, for its OpenAPI document's description. */
  readonly description?: string;
  /** The node's log; none: the gateway logs nothing (tests). */
  readonly log?: LogLine | undefined;
  /** Default "warn": what went wrong; "info" adds a line per request. */
  readonly logLevel?: LogLevel | undefined;
  /** The node's instruments, served at /metrics; none: a registry of this app's own. */
  readonly metrics?: NodeMetrics | undefined;
  /** Every route needs a token (the anchor proxy's), /metrics too: it declares the 401. */
  readonly guarded?: boolean;
}

/** What the node gives each of its gateways to log and count with. */
export type GatewayObservability = Pick<GatewayOptions, "log" | "logLevel" | "metrics">;
export const observabilityOf = (deps: GatewayObservability): GatewayObservability => ({ log: deps.log, logLevel: deps.logLevel, metrics: deps.metrics });

const INPUTS = ["body", "querystring", "params", "headers"] as const;

export interface GatewayRoute {
  readonly method: string;
  readonly url: string;
  /** The statuses it declares a response schema for. */
  readonly responses: readonly string[];
}
const served = new WeakMap<object, GatewayRoute[]>();

/** Every route the gateway serves, as its plugins registered them (HEAD of each GET included). */
export const routesOf = (app: object): readonly GatewayRoute[] => served.get(app) ?? [];

/**
 * A Fastify app as every gateway runs it: zod schemas on the routes, one strict JSON body
 * parser, text refused with a NUL in every input of every route (but the fields a route declares
 * data), the error replies, a JSON logger (what went wrong, every 5xx with its request id and
 * stack; at "info" one line per request), its OpenAPI document at /docs and the node's metrics
 * at /metrics.
 */
export async function gatewayApp(opts: GatewayOptions) {
  const logger = opts.log ? { loggerInstance: gatewayLogger(opts.service, opts.log, opts.logLevel) as FastifyBaseLogger } : { logger: false };
  const app = Fastify({
    ...logger,
    bodyLimit: opts.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  acceptStrictJson(app);
  const routes: GatewayRoute[] = [];
  served.set(app, routes);
  // Added before any route, so no route of any plugin escapes it.
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, responses: Object.keys(route.schema?.response ?? {}) });
    const schema = route.schema as Partial<Record<(typeof INPUTS)[number], unknown>> | undefined;
    if (!schema) return;
    const data = (route.config?.data ?? []).map(pathPattern);
    for (const part of INPUTS) {
      const input = schema[part];
      if (input instanceof z.ZodType) schema[part] = withoutNul(input, part === "body" ? data : []);
    }
  });
  installErrorReplies(app);
  logEveryRequest(app);
  // The docs first: they list every route added after them, /metrics included.
  await serveApiDocs(app, opts.service, opts.description ?? `The ${opts.service} gateway of an EdgeCoder node.`);
  serveMetrics(app, opts.service, opts.metrics ?? nodeMetrics({ processMetrics: false }), opts.guarded === true);
  return app;
}
