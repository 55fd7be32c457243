import type { Layer } from '../../layers/layer.js';

/**
 * Layer classes that are not Keras built-ins but can be saved and rebuilt: convkit's composite blocks and a
 * user's own (keras.saving.register_keras_serializable). A registered class is written as
 *   { module: <package>, class_name: <className>, config: layer.getConfig(), registered_name: '<package>><className>' }
 * and rebuilt with `new Class(config)` (or the given fromConfig): its getConfig must return its constructor's
 * arguments (plus name and trainable, which Layer.getConfig already gives).
 */
export interface SerializableClass {
  new (config: never): Layer;
  readonly name: string;
}

export interface Registered {
  package: string;
  className: string;
  registeredName: string;
  fromConfig: (config: Record<string, unknown>) => Layer;
}

const byRegisteredName = new Map<string, Registered>();
const byClassName = new Map<string, Registered>();

/**
 * Registers a layer class for saving and loading (Keras's register_keras_serializable). `name` is the class
 * name written in files; it must equal what the layer's `className` getter returns (the JS class name unless
 * overridden). Registering the same name again replaces the entry (as re-running a notebook cell does).
 */
export function registerSerializable(
  cls: SerializableClass,
  opts: { package?: string; name?: string; fromConfig?: (config: Record<string, unknown>) => Layer } = {},
): void {
  if (typeof cls !== 'function') throw new Error(`registerSerializable: argument 'cls' expected a Layer class, received ${String(cls)}`);
  const pkg = opts.package ?? 'Custom';
  const className = opts.name ?? cls.name;
  if (!/^[A-Za-z_][\w.]*$/.test(pkg) || !/^[A-Za-z_]\w*$/.test(className)) {
    throw new Error(`registerSerializable: expected a package and class name made of letters, digits and '_', received '${pkg}' / '${className}'`);
  }
  const entry: Registered = {
    package: pkg,
    className,
    registeredName: `${pkg}>${className}`,
    fromConfig: opts.fromConfig ?? ((config) => new (cls as unknown as new (c: Record<string, unknown>) => Layer)(config)),
  };
  byRegisteredName.set(entry.registeredName, entry);
  byClassName.set(className, entry);
}

/** The registered class of a layer, found by its class name. */
export function registeredFor(layer: Layer): Registered | undefined {
  return byClassName.get(layer.className);
}

/** Finds a class by the registered name a file gives, else by its bare class name. */
export function lookupRegistered(registeredName: unknown, className: string): Registered | undefined {
  if (typeof registeredName === 'string') {
    const r = byRegisteredName.get(registeredName);
    if (r) return r;
  }
  return byClassName.get(className);
}

export function registeredNames(): string[] {
  return [...byRegisteredName.keys()];
}
