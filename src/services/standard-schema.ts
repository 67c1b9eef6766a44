/**
 * The Standard Schema interface (v1, https://standardschema.dev), the one that
 * zod, valibot, ArkType and others implement: copied here, types only, so that
 * any of them can validate a service's messages without Switchyard depending
 * on one. Flattened from the spec's namespace (the lint bans namespaces); the
 * shapes are the spec's, so a library's schema is assignable as it is.
 */

/** A schema of any Standard Schema library: what `Service.messageSchema` takes. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaProps<Input, Output>;
}

export interface StandardSchemaProps<Input = unknown, Output = Input> {
  readonly version: 1;
  readonly vendor: string;
  readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

export type StandardSchemaResult<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The type a schema's `validate` produces (what `onMessage` then receives). */
export type InferSchemaOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
