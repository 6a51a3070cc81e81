// The public surface of brisk: named re-exports only.

export type { Listening, ListenOptions, ProxyOptions } from "./adapters/node.ts";
export { listen, toNodeListener } from "./adapters/node.ts";
export { NodeWebSockets } from "./adapters/node-websocket.ts";
export type { AppOptions } from "./app.ts";
export { App, isApp } from "./app.ts";
export type {
  Dependency,
  DependencyContext,
  DependencyMap,
  DependencyOverrides,
  DependencyScope,
  DependencySpec,
  DependencyValue,
  DependencyValues,
  SecurityRequirement,
} from "./dependency.ts";
export { dependency, isDependency } from "./dependency.ts";
export type { ValidationIssue } from "./errors.ts";
export {
  BriskError,
  HTTPException,
  isBriskError,
  isHTTPException,
  isRequestValidationError,
  isResponseValidationError,
  RequestValidationError,
  ResponseValidationError,
} from "./errors.ts";
export type { FileOptions } from "./files.ts";
export { FileReply, file } from "./files.ts";
export type { FormSchema } from "./form.ts";
export { form } from "./form.ts";
export type { ErrorContext, ExceptionHandler } from "./handle.ts";
export type { Lifespan, State } from "./lifespan.ts";
export type { Limits, ResolvedLimits } from "./limits.ts";
export type { AccessEntry, AppLogger, LogFormat, Logger, LogLevel } from "./logger.ts";
export { configureLogging, consoleLogger, formatAccess } from "./logger.ts";
export type { GzipOptions } from "./middleware/compress.ts";
export { gzip } from "./middleware/compress.ts";
export type { CorsOptions } from "./middleware/cors.ts";
export { cors } from "./middleware/cors.ts";
export type { TrustedHostOptions } from "./middleware/hosts.ts";
export { httpsRedirect, trustedHost } from "./middleware/hosts.ts";
export type { Middleware, MiddlewareContext, Next } from "./middleware.ts";
export type { Mountable } from "./mount.ts";
export type {
  MultipartLimits,
  MultipartOptions,
  MultipartSchema,
  MultipartShape,
  UploadManyOptions,
  UploadOptions,
  UploadSchema,
} from "./multipart.ts";
export { multipart, upload } from "./multipart.ts";
export type {
  OpenApiContact,
  OpenApiDocument,
  OpenApiInfo,
  OpenApiLicense,
  OpenApiServer,
  OpenApiTag,
} from "./openapi/document.ts";
export type { PathParams } from "./path.ts";
export type { ReplyInit } from "./responses.ts";
export { html, json, Reply, redirect, text } from "./responses.ts";
export type {
  Context,
  CookieOptions,
  DepsOf,
  Handler,
  HandlerResult,
  ParamSchema,
  ResponseControl,
  ResponseDoc,
  RouteSpec,
  SchemaShape,
} from "./route.ts";
export type { RouteEntry, RouterOptions } from "./router.ts";
export { Router } from "./router.ts";
export type { Method } from "./routes.ts";
export type {
  ApiKeyOptions,
  AuthorizationCredentials,
  BasicCredentials,
  OAuth2PasswordOptions,
  PasswordForm,
  SchemeOptions,
} from "./security.ts";
export {
  apiKey,
  httpBasic,
  httpBearer,
  oauth2PasswordBearer,
  openIdConnect,
  passwordForm,
  withScopes,
} from "./security.ts";
export type { StaticFilesOptions } from "./static-files.ts";
export { StaticFiles, staticFiles } from "./static-files.ts";
export type { ServerSentEvent, StreamSource } from "./streaming.ts";
export { stream } from "./streaming.ts";
export { UploadFile } from "./upload-file.ts";
export type {
  AcceptOptions,
  CloseInfo,
  Received,
  Sendable,
  WebSocketContext,
  WebSocketHandler,
  WebSocketSpec,
} from "./websocket.ts";
export { WebSocketConnection } from "./websocket.ts";
export type { GroupMember } from "./websocket-group.ts";
export { WebSocketGroup } from "./websocket-group.ts";
