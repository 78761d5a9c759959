/** Thrown when something asks to delete or replace an artifact: artifacts are immutable. */
export class ArtifactImmutableError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ArtifactImmutableError";
  }
}

/** Thrown when stored bytes do not hash to the key they were stored under. */
export class ArtifactIntegrityError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ArtifactIntegrityError";
  }
}

/** Thrown when a body exceeds the configured maximum artifact size. */
export class ArtifactTooLargeError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ArtifactTooLargeError";
  }
}

/** Thrown when a key is not a sha256 hex digest or names no stored object. */
export class ArtifactNotFoundError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ArtifactNotFoundError";
  }
}

/** Thrown when the object store itself fails (I/O, network, credentials). */
export class ObjectStoreError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ObjectStoreError";
  }
}
