/**
 * The smallest Reflect metadata API that `@peculiar/x509` needs. The library resolves
 * its algorithm plugins through `tsyringe`, which refuses to load without
 * `Reflect.getMetadata`; its classes take no constructor parameters, so a plain
 * per-object map is all it ever reads or writes. This avoids a dependency on
 * `reflect-metadata` for three functions. Must be imported before `@peculiar/x509`.
 * @module
 */

type MetadataMap = Map<unknown, unknown>;
const metadataByTarget = new WeakMap<object, MetadataMap>();

interface ReflectMetadata {
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  getMetadata?: (key: unknown, target: object) => unknown;
}

const reflect = Reflect as unknown as ReflectMetadata;

// Leave a real polyfill alone if the embedding program already installed one.
if (reflect.getMetadata === undefined) {
  reflect.defineMetadata = (key, value, target) => {
    let map = metadataByTarget.get(target);
    if (map === undefined) {
      map = new Map();
      metadataByTarget.set(target, map);
    }
    map.set(key, value);
  };
  reflect.getOwnMetadata = (key, target) => metadataByTarget.get(target)?.get(key);
  reflect.getMetadata = (key, target) => {
    // Metadata is inherited along the prototype chain; bounded by the chain's length.
    for (
      let object: object | null = target;
      object !== null;
      object = Object.getPrototypeOf(object)
    ) {
      const map = metadataByTarget.get(object);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  };
}
