// @ts-self-types="./log.d.ts"
/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-mixed-operators, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars, default-case, jsdoc/require-param*/
import $protobuf from "protobufjs/minimal";

// Common aliases
const $Reader = $protobuf.Reader, $Writer = $protobuf.Writer, $util = $protobuf.util;
const $Object = $util.global.Object, $undefined = $util.global.undefined, $Error = $util.global.Error, $RangeError = $util.global.RangeError;

// Exported root namespace
const $root = $protobuf.roots["default"] || ($protobuf.roots["default"] = {});

export const log = $root.log = (() => {

    /**
     * Namespace log.
     * @exports log
     * @namespace
     */
    const log = {};

    log.v1 = (function() {

        /**
         * Namespace v1.
         * @memberof log
         * @namespace
         */
        const v1 = {};

        v1.Record = (function() {

            /**
             * Properties of a Record.
             * @typedef {Object} log.v1.Record.$Properties
             * @property {Uint8Array|null} [value] Record value
             * @property {number|Long|null} [offset] Record offset
             * @property {number|Long|null} [term] Record term
             * @property {number|null} [type] Record type
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Record.
             * @memberof log.v1
             * @interface IRecord
             * @augments log.v1.Record.$Properties
             * @deprecated Use log.v1.Record.$Properties instead.
             */

            /**
             * Shape of a Record.
             * @typedef {log.v1.Record.$Properties} log.v1.Record.$Shape
             */

            /**
             * Constructs a new Record.
             * @memberof log.v1
             * @classdesc Represents a Record.
             * @constructor
             * @param {log.v1.Record.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Record = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Record value.
             * @member {Uint8Array} value
             * @memberof log.v1.Record
             * @instance
             */
            Record.prototype.value = $util.newBuffer([]);

            /**
             * Record offset.
             * @member {number|Long} offset
             * @memberof log.v1.Record
             * @instance
             */
            Record.prototype.offset = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Record term.
             * @member {number|Long} term
             * @memberof log.v1.Record
             * @instance
             */
            Record.prototype.term = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Record type.
             * @member {number} type
             * @memberof log.v1.Record
             * @instance
             */
            Record.prototype.type = 0;

            /**
             * Creates a new Record instance using the specified properties.
             * @function create
             * @memberof log.v1.Record
             * @static
             * @param {log.v1.Record.$Properties=} [properties] Properties to set
             * @returns {log.v1.Record} Record instance
             * @type {{
             *   (properties: log.v1.Record.$Shape): log.v1.Record & log.v1.Record.$Shape;
             *   (properties?: log.v1.Record.$Properties): log.v1.Record;
             * }}
             */
            Record.create = function(properties) {
                return new Record(properties);
            };

            /**
             * Encodes the specified Record message. Does not implicitly {@link log.v1.Record.verify|verify} messages.
             * @function encode
             * @memberof log.v1.Record
             * @static
             * @param {log.v1.Record.$Properties} message Record message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Record.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.value != null && $Object.hasOwnProperty.call(message, "value") && message.value.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.value);
                if (message.offset != null && $Object.hasOwnProperty.call(message, "offset") && (typeof message.offset === "object" ? message.offset.low || message.offset.high : message.offset !== 0))
                    writer.uint32(/* id 2, wireType 0 =*/16).uint64(message.offset);
                if (message.term != null && $Object.hasOwnProperty.call(message, "term") && (typeof message.term === "object" ? message.term.low || message.term.high : message.term !== 0))
                    writer.uint32(/* id 3, wireType 0 =*/24).uint64(message.term);
                if (message.type != null && $Object.hasOwnProperty.call(message, "type") && message.type !== 0)
                    writer.uint32(/* id 4, wireType 0 =*/32).uint32(message.type);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Record message from the specified reader or buffer.
             * @function decode
             * @memberof log.v1.Record
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {log.v1.Record & log.v1.Record.$Shape} Record
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Record.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.log.v1.Record();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.value = value;
                            else
                                delete message.value;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.offset = value;
                            else
                                delete message.offset;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.term = value;
                            else
                                delete message.term;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.type = value;
                            else
                                delete message.type;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Record
             * @function getTypeUrl
             * @memberof log.v1.Record
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Record.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/log.v1.Record";
            };

            return Record;
        })();

        v1.ProduceRequest = (function() {

            /**
             * Properties of a ProduceRequest.
             * @typedef {Object} log.v1.ProduceRequest.$Properties
             * @property {log.v1.Record.$Properties|null} [record] ProduceRequest record
             * @property {Array.<log.v1.Record.$Properties>|null} [records] ProduceRequest records
             * @property {string|null} [producerId] ProduceRequest producerId
             * @property {number|Long|null} [sequence] ProduceRequest sequence
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a ProduceRequest.
             * @memberof log.v1
             * @interface IProduceRequest
             * @augments log.v1.ProduceRequest.$Properties
             * @deprecated Use log.v1.ProduceRequest.$Properties instead.
             */

            /**
             * Shape of a ProduceRequest.
             * @typedef {log.v1.ProduceRequest.$Properties} log.v1.ProduceRequest.$Shape
             */

            /**
             * Constructs a new ProduceRequest.
             * @memberof log.v1
             * @classdesc Represents a ProduceRequest.
             * @constructor
             * @param {log.v1.ProduceRequest.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const ProduceRequest = function (properties) {
                this.records = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * ProduceRequest record.
             * @member {log.v1.Record.$Properties|null|undefined} record
             * @memberof log.v1.ProduceRequest
             * @instance
             */
            ProduceRequest.prototype.record = null;

            /**
             * ProduceRequest records.
             * @member {Array.<log.v1.Record.$Properties>} records
             * @memberof log.v1.ProduceRequest
             * @instance
             */
            ProduceRequest.prototype.records = $util.emptyArray;

            /**
             * ProduceRequest producerId.
             * @member {string} producerId
             * @memberof log.v1.ProduceRequest
             * @instance
             */
            ProduceRequest.prototype.producerId = "";

            /**
             * ProduceRequest sequence.
             * @member {number|Long} sequence
             * @memberof log.v1.ProduceRequest
             * @instance
             */
            ProduceRequest.prototype.sequence = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Creates a new ProduceRequest instance using the specified properties.
             * @function create
             * @memberof log.v1.ProduceRequest
             * @static
             * @param {log.v1.ProduceRequest.$Properties=} [properties] Properties to set
             * @returns {log.v1.ProduceRequest} ProduceRequest instance
             * @type {{
             *   (properties: log.v1.ProduceRequest.$Shape): log.v1.ProduceRequest & log.v1.ProduceRequest.$Shape;
             *   (properties?: log.v1.ProduceRequest.$Properties): log.v1.ProduceRequest;
             * }}
             */
            ProduceRequest.create = function(properties) {
                return new ProduceRequest(properties);
            };

            /**
             * Encodes the specified ProduceRequest message. Does not implicitly {@link log.v1.ProduceRequest.verify|verify} messages.
             * @function encode
             * @memberof log.v1.ProduceRequest
             * @static
             * @param {log.v1.ProduceRequest.$Properties} message ProduceRequest message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            ProduceRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.record != null && $Object.hasOwnProperty.call(message, "record"))
                    $root.log.v1.Record.encode(message.record, writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
                if (message.records != null && message.records.length)
                    for (let i = 0; i < message.records.length; ++i)
                        $root.log.v1.Record.encode(message.records[i], writer.uint32(/* id 2, wireType 2 =*/18).fork(), _depth + 1).ldelim();
                if (message.producerId != null && $Object.hasOwnProperty.call(message, "producerId") && message.producerId !== "")
                    writer.uint32(/* id 3, wireType 2 =*/26).string(message.producerId);
                if (message.sequence != null && $Object.hasOwnProperty.call(message, "sequence") && (typeof message.sequence === "object" ? message.sequence.low || message.sequence.high : message.sequence !== 0))
                    writer.uint32(/* id 4, wireType 0 =*/32).uint64(message.sequence);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a ProduceRequest message from the specified reader or buffer.
             * @function decode
             * @memberof log.v1.ProduceRequest
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {log.v1.ProduceRequest & log.v1.ProduceRequest.$Shape} ProduceRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            ProduceRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.log.v1.ProduceRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            message.record = $root.log.v1.Record.decode(reader, reader.size(), $undefined, _depth + 1, message.record);
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if (!(message.records && message.records.length))
                                message.records = [];
                            message.records.push($root.log.v1.Record.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.producerId = value;
                            else
                                delete message.producerId;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.sequence = value;
                            else
                                delete message.sequence;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for ProduceRequest
             * @function getTypeUrl
             * @memberof log.v1.ProduceRequest
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            ProduceRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/log.v1.ProduceRequest";
            };

            return ProduceRequest;
        })();

        v1.ProduceResponse = (function() {

            /**
             * Properties of a ProduceResponse.
             * @typedef {Object} log.v1.ProduceResponse.$Properties
             * @property {number|Long|null} [offset] ProduceResponse offset
             * @property {number|null} [count] ProduceResponse count
             * @property {number|null} [replicasFsynced] ProduceResponse replicasFsynced
             * @property {number|Long|null} [commitIndex] ProduceResponse commitIndex
             * @property {boolean|null} [duplicate] ProduceResponse duplicate
             * @property {boolean|null} [durable] ProduceResponse durable
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a ProduceResponse.
             * @memberof log.v1
             * @interface IProduceResponse
             * @augments log.v1.ProduceResponse.$Properties
             * @deprecated Use log.v1.ProduceResponse.$Properties instead.
             */

            /**
             * Shape of a ProduceResponse.
             * @typedef {log.v1.ProduceResponse.$Properties} log.v1.ProduceResponse.$Shape
             */

            /**
             * Constructs a new ProduceResponse.
             * @memberof log.v1
             * @classdesc Represents a ProduceResponse.
             * @constructor
             * @param {log.v1.ProduceResponse.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const ProduceResponse = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * ProduceResponse offset.
             * @member {number|Long} offset
             * @memberof log.v1.ProduceResponse
             * @instance
             */
            ProduceResponse.prototype.offset = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * ProduceResponse count.
             * @member {number} count
             * @memberof log.v1.ProduceResponse
             * @instance
             */
            ProduceResponse.prototype.count = 0;

            /**
             * ProduceResponse replicasFsynced.
             * @member {number} replicasFsynced
             * @memberof log.v1.ProduceResponse
             * @instance
             */
            ProduceResponse.prototype.replicasFsynced = 0;

            /**
             * ProduceResponse commitIndex.
             * @member {number|Long} commitIndex
             * @memberof log.v1.ProduceResponse
             * @instance
             */
            ProduceResponse.prototype.commitIndex = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * ProduceResponse duplicate.
             * @member {boolean} duplicate
             * @memberof log.v1.ProduceResponse
             * @instance
             */
            ProduceResponse.prototype.duplicate = false;

            /**
             * ProduceResponse durable.
             * @member {boolean} durable
             * @memberof log.v1.ProduceResponse
             * @instance
             */
            ProduceResponse.prototype.durable = false;

            /**
             * Creates a new ProduceResponse instance using the specified properties.
             * @function create
             * @memberof log.v1.ProduceResponse
             * @static
             * @param {log.v1.ProduceResponse.$Properties=} [properties] Properties to set
             * @returns {log.v1.ProduceResponse} ProduceResponse instance
             * @type {{
             *   (properties: log.v1.ProduceResponse.$Shape): log.v1.ProduceResponse & log.v1.ProduceResponse.$Shape;
             *   (properties?: log.v1.ProduceResponse.$Properties): log.v1.ProduceResponse;
             * }}
             */
            ProduceResponse.create = function(properties) {
                return new ProduceResponse(properties);
            };

            /**
             * Encodes the specified ProduceResponse message. Does not implicitly {@link log.v1.ProduceResponse.verify|verify} messages.
             * @function encode
             * @memberof log.v1.ProduceResponse
             * @static
             * @param {log.v1.ProduceResponse.$Properties} message ProduceResponse message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            ProduceResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.offset != null && $Object.hasOwnProperty.call(message, "offset") && (typeof message.offset === "object" ? message.offset.low || message.offset.high : message.offset !== 0))
                    writer.uint32(/* id 1, wireType 0 =*/8).uint64(message.offset);
                if (message.count != null && $Object.hasOwnProperty.call(message, "count") && message.count !== 0)
                    writer.uint32(/* id 2, wireType 0 =*/16).uint32(message.count);
                if (message.replicasFsynced != null && $Object.hasOwnProperty.call(message, "replicasFsynced") && message.replicasFsynced !== 0)
                    writer.uint32(/* id 3, wireType 0 =*/24).uint32(message.replicasFsynced);
                if (message.commitIndex != null && $Object.hasOwnProperty.call(message, "commitIndex") && (typeof message.commitIndex === "object" ? message.commitIndex.low || message.commitIndex.high : message.commitIndex !== 0))
                    writer.uint32(/* id 4, wireType 0 =*/32).uint64(message.commitIndex);
                if (message.duplicate != null && $Object.hasOwnProperty.call(message, "duplicate") && message.duplicate !== false)
                    writer.uint32(/* id 5, wireType 0 =*/40).bool(message.duplicate);
                if (message.durable != null && $Object.hasOwnProperty.call(message, "durable") && message.durable !== false)
                    writer.uint32(/* id 6, wireType 0 =*/48).bool(message.durable);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a ProduceResponse message from the specified reader or buffer.
             * @function decode
             * @memberof log.v1.ProduceResponse
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {log.v1.ProduceResponse & log.v1.ProduceResponse.$Shape} ProduceResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            ProduceResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.log.v1.ProduceResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.offset = value;
                            else
                                delete message.offset;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.count = value;
                            else
                                delete message.count;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.replicasFsynced = value;
                            else
                                delete message.replicasFsynced;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.commitIndex = value;
                            else
                                delete message.commitIndex;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.duplicate = value;
                            else
                                delete message.duplicate;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.durable = value;
                            else
                                delete message.durable;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for ProduceResponse
             * @function getTypeUrl
             * @memberof log.v1.ProduceResponse
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            ProduceResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/log.v1.ProduceResponse";
            };

            return ProduceResponse;
        })();

        v1.ConsumeRequest = (function() {

            /**
             * Properties of a ConsumeRequest.
             * @typedef {Object} log.v1.ConsumeRequest.$Properties
             * @property {number|Long|null} [offset] ConsumeRequest offset
             * @property {number|Long|null} [limit] ConsumeRequest limit
             * @property {number|null} [batchRecordsMax] ConsumeRequest batchRecordsMax
             * @property {boolean|null} [stopAtEnd] ConsumeRequest stopAtEnd
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a ConsumeRequest.
             * @memberof log.v1
             * @interface IConsumeRequest
             * @augments log.v1.ConsumeRequest.$Properties
             * @deprecated Use log.v1.ConsumeRequest.$Properties instead.
             */

            /**
             * Shape of a ConsumeRequest.
             * @typedef {log.v1.ConsumeRequest.$Properties} log.v1.ConsumeRequest.$Shape
             */

            /**
             * Constructs a new ConsumeRequest.
             * @memberof log.v1
             * @classdesc Represents a ConsumeRequest.
             * @constructor
             * @param {log.v1.ConsumeRequest.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const ConsumeRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * ConsumeRequest offset.
             * @member {number|Long} offset
             * @memberof log.v1.ConsumeRequest
             * @instance
             */
            ConsumeRequest.prototype.offset = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * ConsumeRequest limit.
             * @member {number|Long} limit
             * @memberof log.v1.ConsumeRequest
             * @instance
             */
            ConsumeRequest.prototype.limit = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * ConsumeRequest batchRecordsMax.
             * @member {number} batchRecordsMax
             * @memberof log.v1.ConsumeRequest
             * @instance
             */
            ConsumeRequest.prototype.batchRecordsMax = 0;

            /**
             * ConsumeRequest stopAtEnd.
             * @member {boolean} stopAtEnd
             * @memberof log.v1.ConsumeRequest
             * @instance
             */
            ConsumeRequest.prototype.stopAtEnd = false;

            /**
             * Creates a new ConsumeRequest instance using the specified properties.
             * @function create
             * @memberof log.v1.ConsumeRequest
             * @static
             * @param {log.v1.ConsumeRequest.$Properties=} [properties] Properties to set
             * @returns {log.v1.ConsumeRequest} ConsumeRequest instance
             * @type {{
             *   (properties: log.v1.ConsumeRequest.$Shape): log.v1.ConsumeRequest & log.v1.ConsumeRequest.$Shape;
             *   (properties?: log.v1.ConsumeRequest.$Properties): log.v1.ConsumeRequest;
             * }}
             */
            ConsumeRequest.create = function(properties) {
                return new ConsumeRequest(properties);
            };

            /**
             * Encodes the specified ConsumeRequest message. Does not implicitly {@link log.v1.ConsumeRequest.verify|verify} messages.
             * @function encode
             * @memberof log.v1.ConsumeRequest
             * @static
             * @param {log.v1.ConsumeRequest.$Properties} message ConsumeRequest message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            ConsumeRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.offset != null && $Object.hasOwnProperty.call(message, "offset") && (typeof message.offset === "object" ? message.offset.low || message.offset.high : message.offset !== 0))
                    writer.uint32(/* id 1, wireType 0 =*/8).uint64(message.offset);
                if (message.limit != null && $Object.hasOwnProperty.call(message, "limit") && (typeof message.limit === "object" ? message.limit.low || message.limit.high : message.limit !== 0))
                    writer.uint32(/* id 2, wireType 0 =*/16).uint64(message.limit);
                if (message.batchRecordsMax != null && $Object.hasOwnProperty.call(message, "batchRecordsMax") && message.batchRecordsMax !== 0)
                    writer.uint32(/* id 3, wireType 0 =*/24).uint32(message.batchRecordsMax);
                if (message.stopAtEnd != null && $Object.hasOwnProperty.call(message, "stopAtEnd") && message.stopAtEnd !== false)
                    writer.uint32(/* id 4, wireType 0 =*/32).bool(message.stopAtEnd);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a ConsumeRequest message from the specified reader or buffer.
             * @function decode
             * @memberof log.v1.ConsumeRequest
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {log.v1.ConsumeRequest & log.v1.ConsumeRequest.$Shape} ConsumeRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            ConsumeRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.log.v1.ConsumeRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.offset = value;
                            else
                                delete message.offset;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.limit = value;
                            else
                                delete message.limit;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.batchRecordsMax = value;
                            else
                                delete message.batchRecordsMax;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.stopAtEnd = value;
                            else
                                delete message.stopAtEnd;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for ConsumeRequest
             * @function getTypeUrl
             * @memberof log.v1.ConsumeRequest
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            ConsumeRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/log.v1.ConsumeRequest";
            };

            return ConsumeRequest;
        })();

        v1.ConsumeResponse = (function() {

            /**
             * Properties of a ConsumeResponse.
             * @typedef {Object} log.v1.ConsumeResponse.$Properties
             * @property {log.v1.Record.$Properties|null} [record] ConsumeResponse record
             * @property {Array.<log.v1.Record.$Properties>|null} [records] ConsumeResponse records
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a ConsumeResponse.
             * @memberof log.v1
             * @interface IConsumeResponse
             * @augments log.v1.ConsumeResponse.$Properties
             * @deprecated Use log.v1.ConsumeResponse.$Properties instead.
             */

            /**
             * Shape of a ConsumeResponse.
             * @typedef {log.v1.ConsumeResponse.$Properties} log.v1.ConsumeResponse.$Shape
             */

            /**
             * Constructs a new ConsumeResponse.
             * @memberof log.v1
             * @classdesc Represents a ConsumeResponse.
             * @constructor
             * @param {log.v1.ConsumeResponse.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const ConsumeResponse = function (properties) {
                this.records = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * ConsumeResponse record.
             * @member {log.v1.Record.$Properties|null|undefined} record
             * @memberof log.v1.ConsumeResponse
             * @instance
             */
            ConsumeResponse.prototype.record = null;

            /**
             * ConsumeResponse records.
             * @member {Array.<log.v1.Record.$Properties>} records
             * @memberof log.v1.ConsumeResponse
             * @instance
             */
            ConsumeResponse.prototype.records = $util.emptyArray;

            /**
             * Creates a new ConsumeResponse instance using the specified properties.
             * @function create
             * @memberof log.v1.ConsumeResponse
             * @static
             * @param {log.v1.ConsumeResponse.$Properties=} [properties] Properties to set
             * @returns {log.v1.ConsumeResponse} ConsumeResponse instance
             * @type {{
             *   (properties: log.v1.ConsumeResponse.$Shape): log.v1.ConsumeResponse & log.v1.ConsumeResponse.$Shape;
             *   (properties?: log.v1.ConsumeResponse.$Properties): log.v1.ConsumeResponse;
             * }}
             */
            ConsumeResponse.create = function(properties) {
                return new ConsumeResponse(properties);
            };

            /**
             * Encodes the specified ConsumeResponse message. Does not implicitly {@link log.v1.ConsumeResponse.verify|verify} messages.
             * @function encode
             * @memberof log.v1.ConsumeResponse
             * @static
             * @param {log.v1.ConsumeResponse.$Properties} message ConsumeResponse message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            ConsumeResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.record != null && $Object.hasOwnProperty.call(message, "record"))
                    $root.log.v1.Record.encode(message.record, writer.uint32(/* id 2, wireType 2 =*/18).fork(), _depth + 1).ldelim();
                if (message.records != null && message.records.length)
                    for (let i = 0; i < message.records.length; ++i)
                        $root.log.v1.Record.encode(message.records[i], writer.uint32(/* id 3, wireType 2 =*/26).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a ConsumeResponse message from the specified reader or buffer.
             * @function decode
             * @memberof log.v1.ConsumeResponse
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {log.v1.ConsumeResponse & log.v1.ConsumeResponse.$Shape} ConsumeResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            ConsumeResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.log.v1.ConsumeResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 2: {
                            if (wireType !== 2)
                                break;
                            message.record = $root.log.v1.Record.decode(reader, reader.size(), $undefined, _depth + 1, message.record);
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if (!(message.records && message.records.length))
                                message.records = [];
                            message.records.push($root.log.v1.Record.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for ConsumeResponse
             * @function getTypeUrl
             * @memberof log.v1.ConsumeResponse
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            ConsumeResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/log.v1.ConsumeResponse";
            };

            return ConsumeResponse;
        })();

        v1.GetServersRequest = (function() {

            /**
             * Properties of a GetServersRequest.
             * @typedef {Object} log.v1.GetServersRequest.$Properties
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a GetServersRequest.
             * @memberof log.v1
             * @interface IGetServersRequest
             * @augments log.v1.GetServersRequest.$Properties
             * @deprecated Use log.v1.GetServersRequest.$Properties instead.
             */

            /**
             * Shape of a GetServersRequest.
             * @typedef {log.v1.GetServersRequest.$Properties} log.v1.GetServersRequest.$Shape
             */

            /**
             * Constructs a new GetServersRequest.
             * @memberof log.v1
             * @classdesc Represents a GetServersRequest.
             * @constructor
             * @param {log.v1.GetServersRequest.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const GetServersRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Creates a new GetServersRequest instance using the specified properties.
             * @function create
             * @memberof log.v1.GetServersRequest
             * @static
             * @param {log.v1.GetServersRequest.$Properties=} [properties] Properties to set
             * @returns {log.v1.GetServersRequest} GetServersRequest instance
             * @type {{
             *   (properties: log.v1.GetServersRequest.$Shape): log.v1.GetServersRequest & log.v1.GetServersRequest.$Shape;
             *   (properties?: log.v1.GetServersRequest.$Properties): log.v1.GetServersRequest;
             * }}
             */
            GetServersRequest.create = function(properties) {
                return new GetServersRequest(properties);
            };

            /**
             * Encodes the specified GetServersRequest message. Does not implicitly {@link log.v1.GetServersRequest.verify|verify} messages.
             * @function encode
             * @memberof log.v1.GetServersRequest
             * @static
             * @param {log.v1.GetServersRequest.$Properties} message GetServersRequest message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            GetServersRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a GetServersRequest message from the specified reader or buffer.
             * @function decode
             * @memberof log.v1.GetServersRequest
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {log.v1.GetServersRequest & log.v1.GetServersRequest.$Shape} GetServersRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            GetServersRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.log.v1.GetServersRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    reader.skipType(tag & 7, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for GetServersRequest
             * @function getTypeUrl
             * @memberof log.v1.GetServersRequest
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            GetServersRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/log.v1.GetServersRequest";
            };

            return GetServersRequest;
        })();

        v1.GetServersResponse = (function() {

            /**
             * Properties of a GetServersResponse.
             * @typedef {Object} log.v1.GetServersResponse.$Properties
             * @property {Array.<log.v1.Server.$Properties>|null} [servers] GetServersResponse servers
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a GetServersResponse.
             * @memberof log.v1
             * @interface IGetServersResponse
             * @augments log.v1.GetServersResponse.$Properties
             * @deprecated Use log.v1.GetServersResponse.$Properties instead.
             */

            /**
             * Shape of a GetServersResponse.
             * @typedef {log.v1.GetServersResponse.$Properties} log.v1.GetServersResponse.$Shape
             */

            /**
             * Constructs a new GetServersResponse.
             * @memberof log.v1
             * @classdesc Represents a GetServersResponse.
             * @constructor
             * @param {log.v1.GetServersResponse.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const GetServersResponse = function (properties) {
                this.servers = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * GetServersResponse servers.
             * @member {Array.<log.v1.Server.$Properties>} servers
             * @memberof log.v1.GetServersResponse
             * @instance
             */
            GetServersResponse.prototype.servers = $util.emptyArray;

            /**
             * Creates a new GetServersResponse instance using the specified properties.
             * @function create
             * @memberof log.v1.GetServersResponse
             * @static
             * @param {log.v1.GetServersResponse.$Properties=} [properties] Properties to set
             * @returns {log.v1.GetServersResponse} GetServersResponse instance
             * @type {{
             *   (properties: log.v1.GetServersResponse.$Shape): log.v1.GetServersResponse & log.v1.GetServersResponse.$Shape;
             *   (properties?: log.v1.GetServersResponse.$Properties): log.v1.GetServersResponse;
             * }}
             */
            GetServersResponse.create = function(properties) {
                return new GetServersResponse(properties);
            };

            /**
             * Encodes the specified GetServersResponse message. Does not implicitly {@link log.v1.GetServersResponse.verify|verify} messages.
             * @function encode
             * @memberof log.v1.GetServersResponse
             * @static
             * @param {log.v1.GetServersResponse.$Properties} message GetServersResponse message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            GetServersResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.servers != null && message.servers.length)
                    for (let i = 0; i < message.servers.length; ++i)
                        $root.log.v1.Server.encode(message.servers[i], writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a GetServersResponse message from the specified reader or buffer.
             * @function decode
             * @memberof log.v1.GetServersResponse
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {log.v1.GetServersResponse & log.v1.GetServersResponse.$Shape} GetServersResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            GetServersResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.log.v1.GetServersResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.servers && message.servers.length))
                                message.servers = [];
                            message.servers.push($root.log.v1.Server.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for GetServersResponse
             * @function getTypeUrl
             * @memberof log.v1.GetServersResponse
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            GetServersResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/log.v1.GetServersResponse";
            };

            return GetServersResponse;
        })();

        v1.Server = (function() {

            /**
             * Properties of a Server.
             * @typedef {Object} log.v1.Server.$Properties
             * @property {string|null} [id] Server id
             * @property {string|null} [rpcAddr] Server rpcAddr
             * @property {boolean|null} [isLeader] Server isLeader
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Server.
             * @memberof log.v1
             * @interface IServer
             * @augments log.v1.Server.$Properties
             * @deprecated Use log.v1.Server.$Properties instead.
             */

            /**
             * Shape of a Server.
             * @typedef {log.v1.Server.$Properties} log.v1.Server.$Shape
             */

            /**
             * Constructs a new Server.
             * @memberof log.v1
             * @classdesc Represents a Server.
             * @constructor
             * @param {log.v1.Server.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Server = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Server id.
             * @member {string} id
             * @memberof log.v1.Server
             * @instance
             */
            Server.prototype.id = "";

            /**
             * Server rpcAddr.
             * @member {string} rpcAddr
             * @memberof log.v1.Server
             * @instance
             */
            Server.prototype.rpcAddr = "";

            /**
             * Server isLeader.
             * @member {boolean} isLeader
             * @memberof log.v1.Server
             * @instance
             */
            Server.prototype.isLeader = false;

            /**
             * Creates a new Server instance using the specified properties.
             * @function create
             * @memberof log.v1.Server
             * @static
             * @param {log.v1.Server.$Properties=} [properties] Properties to set
             * @returns {log.v1.Server} Server instance
             * @type {{
             *   (properties: log.v1.Server.$Shape): log.v1.Server & log.v1.Server.$Shape;
             *   (properties?: log.v1.Server.$Properties): log.v1.Server;
             * }}
             */
            Server.create = function(properties) {
                return new Server(properties);
            };

            /**
             * Encodes the specified Server message. Does not implicitly {@link log.v1.Server.verify|verify} messages.
             * @function encode
             * @memberof log.v1.Server
             * @static
             * @param {log.v1.Server.$Properties} message Server message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Server.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id !== "")
                    writer.uint32(/* id 1, wireType 2 =*/10).string(message.id);
                if (message.rpcAddr != null && $Object.hasOwnProperty.call(message, "rpcAddr") && message.rpcAddr !== "")
                    writer.uint32(/* id 2, wireType 2 =*/18).string(message.rpcAddr);
                if (message.isLeader != null && $Object.hasOwnProperty.call(message, "isLeader") && message.isLeader !== false)
                    writer.uint32(/* id 3, wireType 0 =*/24).bool(message.isLeader);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Server message from the specified reader or buffer.
             * @function decode
             * @memberof log.v1.Server
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {log.v1.Server & log.v1.Server.$Shape} Server
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Server.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.log.v1.Server();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.id = value;
                            else
                                delete message.id;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.rpcAddr = value;
                            else
                                delete message.rpcAddr;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.isLeader = value;
                            else
                                delete message.isLeader;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Server
             * @function getTypeUrl
             * @memberof log.v1.Server
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Server.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/log.v1.Server";
            };

            return Server;
        })();

        return v1;
    })();

    return log;
})();

export const grpc = $root.grpc = (() => {

    /**
     * Namespace grpc.
     * @exports grpc
     * @namespace
     */
    const grpc = {};

    grpc.health = (function() {

        /**
         * Namespace health.
         * @memberof grpc
         * @namespace
         */
        const health = {};

        health.v1 = (function() {

            /**
             * Namespace v1.
             * @memberof grpc.health
             * @namespace
             */
            const v1 = {};

            v1.HealthCheckRequest = (function() {

                /**
                 * Properties of a HealthCheckRequest.
                 * @typedef {Object} grpc.health.v1.HealthCheckRequest.$Properties
                 * @property {string|null} [service] HealthCheckRequest service
                 * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
                 */

                /**
                 * Properties of a HealthCheckRequest.
                 * @memberof grpc.health.v1
                 * @interface IHealthCheckRequest
                 * @augments grpc.health.v1.HealthCheckRequest.$Properties
                 * @deprecated Use grpc.health.v1.HealthCheckRequest.$Properties instead.
                 */

                /**
                 * Shape of a HealthCheckRequest.
                 * @typedef {grpc.health.v1.HealthCheckRequest.$Properties} grpc.health.v1.HealthCheckRequest.$Shape
                 */

                /**
                 * Constructs a new HealthCheckRequest.
                 * @memberof grpc.health.v1
                 * @classdesc Represents a HealthCheckRequest.
                 * @constructor
                 * @param {grpc.health.v1.HealthCheckRequest.$Properties=} [properties] Properties to set
                 * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
                 */
                const HealthCheckRequest = function (properties) {
                    if (properties)
                        for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                };

                /**
                 * HealthCheckRequest service.
                 * @member {string} service
                 * @memberof grpc.health.v1.HealthCheckRequest
                 * @instance
                 */
                HealthCheckRequest.prototype.service = "";

                /**
                 * Creates a new HealthCheckRequest instance using the specified properties.
                 * @function create
                 * @memberof grpc.health.v1.HealthCheckRequest
                 * @static
                 * @param {grpc.health.v1.HealthCheckRequest.$Properties=} [properties] Properties to set
                 * @returns {grpc.health.v1.HealthCheckRequest} HealthCheckRequest instance
                 * @type {{
                 *   (properties: grpc.health.v1.HealthCheckRequest.$Shape): grpc.health.v1.HealthCheckRequest & grpc.health.v1.HealthCheckRequest.$Shape;
                 *   (properties?: grpc.health.v1.HealthCheckRequest.$Properties): grpc.health.v1.HealthCheckRequest;
                 * }}
                 */
                HealthCheckRequest.create = function(properties) {
                    return new HealthCheckRequest(properties);
                };

                /**
                 * Encodes the specified HealthCheckRequest message. Does not implicitly {@link grpc.health.v1.HealthCheckRequest.verify|verify} messages.
                 * @function encode
                 * @memberof grpc.health.v1.HealthCheckRequest
                 * @static
                 * @param {grpc.health.v1.HealthCheckRequest.$Properties} message HealthCheckRequest message or plain object to encode
                 * @param {$protobuf.Writer} [writer] Writer to encode to
                 * @returns {$protobuf.Writer} Writer
                 */
                HealthCheckRequest.encode = function (message, writer, _depth) {
                    if (!writer)
                        writer = $Writer.create();
                    if (_depth === $undefined)
                        _depth = 0;
                    if (_depth > $util.recursionLimit)
                        throw $Error("max depth exceeded");
                    if (message.service != null && $Object.hasOwnProperty.call(message, "service") && message.service !== "")
                        writer.uint32(/* id 1, wireType 2 =*/10).string(message.service);
                    if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                        for (let i = 0; i < message.$unknowns.length; ++i)
                            writer.raw(message.$unknowns[i]);
                    return writer;
                };

                /**
                 * Decodes a HealthCheckRequest message from the specified reader or buffer.
                 * @function decode
                 * @memberof grpc.health.v1.HealthCheckRequest
                 * @static
                 * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
                 * @param {number} [length] Message length if known beforehand
                 * @returns {grpc.health.v1.HealthCheckRequest & grpc.health.v1.HealthCheckRequest.$Shape} HealthCheckRequest
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                HealthCheckRequest.decode = function (reader, length, _end, _depth, _target) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (_depth === $undefined)
                        _depth = 0;
                    if (_depth > $Reader.recursionLimit)
                        throw $Error("max depth exceeded");
                    let end, message, value;
                    if (length === $undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw $RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = _target || new $root.grpc.health.v1.HealthCheckRequest();
                    while (reader.pos < end) {
                        let start = reader.pos;
                        let tag = reader.tag();
                        if (tag === _end) {
                            _end = $undefined;
                            break;
                        }
                        let wireType = tag & 7;
                        switch (tag >>>= 3) {
                        case 1: {
                                if (wireType !== 2)
                                    break;
                                if ((value = reader.stringVerify()).length)
                                    message.service = value;
                                else
                                    delete message.service;
                                continue;
                            }
                        }
                        reader.skipType(wireType, _depth, tag);
                        if (!reader.discardUnknown) {
                            $util.makeProp(message, "$unknowns", false);
                            (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                        }
                    }
                    if (length !== $undefined) {
                        if (reader.pos !== end)
                            throw $RangeError("index out of range");
                        reader.len = length;
                    }
                    if (_end !== $undefined)
                        throw $Error("missing end group");
                    return message;
                };

                /**
                 * Gets the type url for HealthCheckRequest
                 * @function getTypeUrl
                 * @memberof grpc.health.v1.HealthCheckRequest
                 * @static
                 * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
                 * @returns {string} The type url
                 */
                HealthCheckRequest.getTypeUrl = function(prefix) {
                    if (prefix === $undefined)
                        prefix = "type.googleapis.com";
                    return prefix + "/grpc.health.v1.HealthCheckRequest";
                };

                return HealthCheckRequest;
            })();

            v1.HealthCheckResponse = (function() {

                /**
                 * Properties of a HealthCheckResponse.
                 * @typedef {Object} grpc.health.v1.HealthCheckResponse.$Properties
                 * @property {grpc.health.v1.HealthCheckResponse.ServingStatus|null} [status] HealthCheckResponse status
                 * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
                 */

                /**
                 * Properties of a HealthCheckResponse.
                 * @memberof grpc.health.v1
                 * @interface IHealthCheckResponse
                 * @augments grpc.health.v1.HealthCheckResponse.$Properties
                 * @deprecated Use grpc.health.v1.HealthCheckResponse.$Properties instead.
                 */

                /**
                 * Shape of a HealthCheckResponse.
                 * @typedef {grpc.health.v1.HealthCheckResponse.$Properties} grpc.health.v1.HealthCheckResponse.$Shape
                 */

                /**
                 * Constructs a new HealthCheckResponse.
                 * @memberof grpc.health.v1
                 * @classdesc Represents a HealthCheckResponse.
                 * @constructor
                 * @param {grpc.health.v1.HealthCheckResponse.$Properties=} [properties] Properties to set
                 * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
                 */
                const HealthCheckResponse = function (properties) {
                    if (properties)
                        for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                };

                /**
                 * HealthCheckResponse status.
                 * @member {grpc.health.v1.HealthCheckResponse.ServingStatus} status
                 * @memberof grpc.health.v1.HealthCheckResponse
                 * @instance
                 */
                HealthCheckResponse.prototype.status = 0;

                /**
                 * Creates a new HealthCheckResponse instance using the specified properties.
                 * @function create
                 * @memberof grpc.health.v1.HealthCheckResponse
                 * @static
                 * @param {grpc.health.v1.HealthCheckResponse.$Properties=} [properties] Properties to set
                 * @returns {grpc.health.v1.HealthCheckResponse} HealthCheckResponse instance
                 * @type {{
                 *   (properties: grpc.health.v1.HealthCheckResponse.$Shape): grpc.health.v1.HealthCheckResponse & grpc.health.v1.HealthCheckResponse.$Shape;
                 *   (properties?: grpc.health.v1.HealthCheckResponse.$Properties): grpc.health.v1.HealthCheckResponse;
                 * }}
                 */
                HealthCheckResponse.create = function(properties) {
                    return new HealthCheckResponse(properties);
                };

                /**
                 * Encodes the specified HealthCheckResponse message. Does not implicitly {@link grpc.health.v1.HealthCheckResponse.verify|verify} messages.
                 * @function encode
                 * @memberof grpc.health.v1.HealthCheckResponse
                 * @static
                 * @param {grpc.health.v1.HealthCheckResponse.$Properties} message HealthCheckResponse message or plain object to encode
                 * @param {$protobuf.Writer} [writer] Writer to encode to
                 * @returns {$protobuf.Writer} Writer
                 */
                HealthCheckResponse.encode = function (message, writer, _depth) {
                    if (!writer)
                        writer = $Writer.create();
                    if (_depth === $undefined)
                        _depth = 0;
                    if (_depth > $util.recursionLimit)
                        throw $Error("max depth exceeded");
                    if (message.status != null && $Object.hasOwnProperty.call(message, "status") && message.status !== 0)
                        writer.uint32(/* id 1, wireType 0 =*/8).int32(message.status);
                    if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                        for (let i = 0; i < message.$unknowns.length; ++i)
                            writer.raw(message.$unknowns[i]);
                    return writer;
                };

                /**
                 * Decodes a HealthCheckResponse message from the specified reader or buffer.
                 * @function decode
                 * @memberof grpc.health.v1.HealthCheckResponse
                 * @static
                 * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
                 * @param {number} [length] Message length if known beforehand
                 * @returns {grpc.health.v1.HealthCheckResponse & grpc.health.v1.HealthCheckResponse.$Shape} HealthCheckResponse
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                HealthCheckResponse.decode = function (reader, length, _end, _depth, _target) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (_depth === $undefined)
                        _depth = 0;
                    if (_depth > $Reader.recursionLimit)
                        throw $Error("max depth exceeded");
                    let end, message, value;
                    if (length === $undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw $RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = _target || new $root.grpc.health.v1.HealthCheckResponse();
                    while (reader.pos < end) {
                        let start = reader.pos;
                        let tag = reader.tag();
                        if (tag === _end) {
                            _end = $undefined;
                            break;
                        }
                        let wireType = tag & 7;
                        switch (tag >>>= 3) {
                        case 1: {
                                if (wireType !== 0)
                                    break;
                                if (value = reader.int32())
                                    message.status = value;
                                else
                                    delete message.status;
                                continue;
                            }
                        }
                        reader.skipType(wireType, _depth, tag);
                        if (!reader.discardUnknown) {
                            $util.makeProp(message, "$unknowns", false);
                            (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                        }
                    }
                    if (length !== $undefined) {
                        if (reader.pos !== end)
                            throw $RangeError("index out of range");
                        reader.len = length;
                    }
                    if (_end !== $undefined)
                        throw $Error("missing end group");
                    return message;
                };

                /**
                 * Gets the type url for HealthCheckResponse
                 * @function getTypeUrl
                 * @memberof grpc.health.v1.HealthCheckResponse
                 * @static
                 * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
                 * @returns {string} The type url
                 */
                HealthCheckResponse.getTypeUrl = function(prefix) {
                    if (prefix === $undefined)
                        prefix = "type.googleapis.com";
                    return prefix + "/grpc.health.v1.HealthCheckResponse";
                };

                /**
                 * ServingStatus enum.
                 * @name grpc.health.v1.HealthCheckResponse.ServingStatus
                 * @enum {number}
                 * @property {number} UNKNOWN=0 UNKNOWN value
                 * @property {number} SERVING=1 SERVING value
                 * @property {number} NOT_SERVING=2 NOT_SERVING value
                 * @property {number} SERVICE_UNKNOWN=3 SERVICE_UNKNOWN value
                 */
                HealthCheckResponse.ServingStatus = (function() {
                    const valuesById = $Object.create(null), values = $Object.create(valuesById);
                    values[valuesById[0] = "UNKNOWN"] = 0;
                    values[valuesById[1] = "SERVING"] = 1;
                    values[valuesById[2] = "NOT_SERVING"] = 2;
                    values[valuesById[3] = "SERVICE_UNKNOWN"] = 3;
                    return values;
                })();

                return HealthCheckResponse;
            })();

            return v1;
        })();

        return health;
    })();

    return grpc;
})();

export {
  $root as default
};
