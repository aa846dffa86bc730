/**
 * Strand's version: the one constant behind `strand --version`, the status API and the
 * compiled binary (bump it on a release).
 * @module
 */

/** The version of this Strand build. */
export const STRAND_VERSION = "0.9.0";
