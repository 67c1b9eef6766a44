/**
 * Where each option's value came from, so that an error names the place a
 * user has to fix: `--workers (flag)`, `SWITCHYARD_WORKERS (environment)`,
 * `workers (config file /srv/switchyard.json)`, or `options.workers` for the
 * library API. The CLI merges its layers here (flags over environment over
 * config file over defaults, whole values per option) and hands the merged
 * options with their origins to `resolveOptions()`, the one resolver.
 */
import type { OptionName } from './options-spec';

export type OptionOrigin =
  | {
      readonly from: 'flag';
      readonly flag: string;
      /**
       * For an object the flags fill field by field (`tls` from `--tls-cert`,
       * `--tls-key`, `--tls-ca`): the flag of each field given by one, and
       * where the object's other fields came from (the config file, say).
       */
      readonly fields?: Readonly<Record<string, string>>;
      readonly below?: OptionOrigin;
    }
  | { readonly from: 'environment'; readonly variable: string }
  | { readonly from: 'config'; readonly file: string };

/** The origin of each option that did not come from the library API. */
export type OptionOrigins = Readonly<Partial<Record<OptionName, OptionOrigin>>>;

/** One source of options: its values, and where each came from. */
export interface OptionLayer {
  readonly options: Readonly<Record<string, unknown>>;
  readonly origins: OptionOrigins;
}

/**
 * How to name the option at dotted path `dotted` (`workers`,
 * `allowedOrigins.1`, `services.chat`) in an error, given where it came from.
 */
export function describeOption(dotted: string, origins: OptionOrigins = {}): string {
  const dot = dotted.indexOf('.');
  const name = (dot === -1 ? dotted : dotted.slice(0, dot)) as OptionName;
  const rest = dot === -1 ? '' : dotted.slice(dot + 1);
  const origin = Object.hasOwn(origins, name) ? origins[name] : undefined;
  if (origin === undefined) return `options.${dotted}`;
  switch (origin.from) {
    case 'flag': {
      if (origin.fields === undefined || rest === '') return `${origin.flag}${rest === '' ? '' : ` ${rest}`} (flag)`;
      const dotInRest = rest.indexOf('.');
      const field = dotInRest === -1 ? rest : rest.slice(0, dotInRest);
      const fieldFlag = Object.hasOwn(origin.fields, field) ? origin.fields[field] : undefined;
      if (fieldFlag !== undefined) return `${fieldFlag}${dotInRest === -1 ? '' : ` ${rest.slice(dotInRest + 1)}`} (flag)`;
      // A field the flags did not give came from the layer below, or is the library default.
      return origin.below === undefined ? `options.${dotted}` : describeOption(dotted, { [name]: origin.below });
    }
    case 'environment':
      return `${origin.variable}${rest === '' ? '' : `[${rest}]`} (environment)`;
    case 'config':
      return `${dotted} (config file ${origin.file})`;
    default: {
      const unknownOrigin: never = origin;
      throw new Error(`unknown option origin ${JSON.stringify(unknownOrigin)}`);
    }
  }
}

/**
 * Merges layers, lowest precedence first: a later layer's value for an
 * option replaces an earlier one's as a whole (a `--service` flag replaces
 * the config file's services, it does not add to them).
 */
export function mergeLayers(layers: readonly OptionLayer[]): OptionLayer {
  const options: Record<string, unknown> = {};
  const origins = new Map<string, OptionOrigin | undefined>();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.options)) {
      if (value === undefined) continue;
      options[key] = value;
      origins.set(key, layer.origins[key as OptionName]);
    }
  }
  return { options, origins: Object.fromEntries([...origins].filter(([, origin]) => origin !== undefined)) };
}
