import * as $protobuf from "protobufjs";
type Long = { low: number; high: number; unsigned: boolean };

/** Namespace log. */
export namespace log {

    /** Namespace v1. */
    namespace v1 {

        /**
         * Properties of a Record.
         * @deprecated Use log.v1.Record.$Properties instead.
         */
        interface IRecord extends log.v1.Record.$Properties {
        }

        /** Represents a Record. */
        class Record {

            /**
             * Constructs a new Record.
             * @param [properties] Properties to set
             */
            constructor(properties?: log.v1.Record.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Record value. */
            value: Uint8Array;

            /** Record offset. */
            offset: (number|Long);

            /** Record term. */
            term: (number|Long);

            /** Record type. */
            type: number;

            /**
             * Creates a new Record instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Record instance
             */
            static create(properties: log.v1.Record.$Shape): log.v1.Record & log.v1.Record.$Shape;
            static create(properties?: log.v1.Record.$Properties): log.v1.Record;

            /**
             * Encodes the specified Record message. Does not implicitly {@link log.v1.Record.verify|verify} messages.
             * @param message Record message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: log.v1.Record.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Record message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {log.v1.Record & log.v1.Record.$Shape} Record
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): log.v1.Record & log.v1.Record.$Shape;

            /**
             * Gets the type url for Record
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Record {

            /** Properties of a Record. */
            interface $Properties {

                /** Record value */
                value?: (Uint8Array|null);

                /** Record offset */
                offset?: (number|Long|null);

                /** Record term */
                term?: (number|Long|null);

                /** Record type */
                type?: (number|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Record. */
            type $Shape = log.v1.Record.$Properties;
        }

        /**
         * Properties of a ProduceRequest.
         * @deprecated Use log.v1.ProduceRequest.$Properties instead.
         */
        interface IProduceRequest extends log.v1.ProduceRequest.$Properties {
        }

        /** Represents a ProduceRequest. */
        class ProduceRequest {

            /**
             * Constructs a new ProduceRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: log.v1.ProduceRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ProduceRequest record. */
            record?: (log.v1.Record.$Properties|null);

            /** ProduceRequest records. */
            records: log.v1.Record.$Properties[];

            /** ProduceRequest producerId. */
            producerId: string;

            /** ProduceRequest sequence. */
            sequence: (number|Long);

            /**
             * Creates a new ProduceRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ProduceRequest instance
             */
            static create(properties: log.v1.ProduceRequest.$Shape): log.v1.ProduceRequest & log.v1.ProduceRequest.$Shape;
            static create(properties?: log.v1.ProduceRequest.$Properties): log.v1.ProduceRequest;

            /**
             * Encodes the specified ProduceRequest message. Does not implicitly {@link log.v1.ProduceRequest.verify|verify} messages.
             * @param message ProduceRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: log.v1.ProduceRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ProduceRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {log.v1.ProduceRequest & log.v1.ProduceRequest.$Shape} ProduceRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): log.v1.ProduceRequest & log.v1.ProduceRequest.$Shape;

            /**
             * Gets the type url for ProduceRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ProduceRequest {

            /** Properties of a ProduceRequest. */
            interface $Properties {

                /** ProduceRequest record */
                record?: (log.v1.Record.$Properties|null);

                /** ProduceRequest records */
                records?: (log.v1.Record.$Properties[]|null);

                /** ProduceRequest producerId */
                producerId?: (string|null);

                /** ProduceRequest sequence */
                sequence?: (number|Long|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ProduceRequest. */
            type $Shape = log.v1.ProduceRequest.$Properties;
        }

        /**
         * Properties of a ProduceResponse.
         * @deprecated Use log.v1.ProduceResponse.$Properties instead.
         */
        interface IProduceResponse extends log.v1.ProduceResponse.$Properties {
        }

        /** Represents a ProduceResponse. */
        class ProduceResponse {

            /**
             * Constructs a new ProduceResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: log.v1.ProduceResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ProduceResponse offset. */
            offset: (number|Long);

            /** ProduceResponse count. */
            count: number;

            /** ProduceResponse replicasFsynced. */
            replicasFsynced: number;

            /** ProduceResponse commitIndex. */
            commitIndex: (number|Long);

            /** ProduceResponse duplicate. */
            duplicate: boolean;

            /** ProduceResponse durable. */
            durable: boolean;

            /**
             * Creates a new ProduceResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ProduceResponse instance
             */
            static create(properties: log.v1.ProduceResponse.$Shape): log.v1.ProduceResponse & log.v1.ProduceResponse.$Shape;
            static create(properties?: log.v1.ProduceResponse.$Properties): log.v1.ProduceResponse;

            /**
             * Encodes the specified ProduceResponse message. Does not implicitly {@link log.v1.ProduceResponse.verify|verify} messages.
             * @param message ProduceResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: log.v1.ProduceResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ProduceResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {log.v1.ProduceResponse & log.v1.ProduceResponse.$Shape} ProduceResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): log.v1.ProduceResponse & log.v1.ProduceResponse.$Shape;

            /**
             * Gets the type url for ProduceResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ProduceResponse {

            /** Properties of a ProduceResponse. */
            interface $Properties {

                /** ProduceResponse offset */
                offset?: (number|Long|null);

                /** ProduceResponse count */
                count?: (number|null);

                /** ProduceResponse replicasFsynced */
                replicasFsynced?: (number|null);

                /** ProduceResponse commitIndex */
                commitIndex?: (number|Long|null);

                /** ProduceResponse duplicate */
                duplicate?: (boolean|null);

                /** ProduceResponse durable */
                durable?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ProduceResponse. */
            type $Shape = log.v1.ProduceResponse.$Properties;
        }

        /**
         * Properties of a ConsumeRequest.
         * @deprecated Use log.v1.ConsumeRequest.$Properties instead.
         */
        interface IConsumeRequest extends log.v1.ConsumeRequest.$Properties {
        }

        /** Represents a ConsumeRequest. */
        class ConsumeRequest {

            /**
             * Constructs a new ConsumeRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: log.v1.ConsumeRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ConsumeRequest offset. */
            offset: (number|Long);

            /** ConsumeRequest limit. */
            limit: (number|Long);

            /** ConsumeRequest batchRecordsMax. */
            batchRecordsMax: number;

            /** ConsumeRequest stopAtEnd. */
            stopAtEnd: boolean;

            /**
             * Creates a new ConsumeRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ConsumeRequest instance
             */
            static create(properties: log.v1.ConsumeRequest.$Shape): log.v1.ConsumeRequest & log.v1.ConsumeRequest.$Shape;
            static create(properties?: log.v1.ConsumeRequest.$Properties): log.v1.ConsumeRequest;

            /**
             * Encodes the specified ConsumeRequest message. Does not implicitly {@link log.v1.ConsumeRequest.verify|verify} messages.
             * @param message ConsumeRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: log.v1.ConsumeRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ConsumeRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {log.v1.ConsumeRequest & log.v1.ConsumeRequest.$Shape} ConsumeRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): log.v1.ConsumeRequest & log.v1.ConsumeRequest.$Shape;

            /**
             * Gets the type url for ConsumeRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ConsumeRequest {

            /** Properties of a ConsumeRequest. */
            interface $Properties {

                /** ConsumeRequest offset */
                offset?: (number|Long|null);

                /** ConsumeRequest limit */
                limit?: (number|Long|null);

                /** ConsumeRequest batchRecordsMax */
                batchRecordsMax?: (number|null);

                /** ConsumeRequest stopAtEnd */
                stopAtEnd?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ConsumeRequest. */
            type $Shape = log.v1.ConsumeRequest.$Properties;
        }

        /**
         * Properties of a ConsumeResponse.
         * @deprecated Use log.v1.ConsumeResponse.$Properties instead.
         */
        interface IConsumeResponse extends log.v1.ConsumeResponse.$Properties {
        }

        /** Represents a ConsumeResponse. */
        class ConsumeResponse {

            /**
             * Constructs a new ConsumeResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: log.v1.ConsumeResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ConsumeResponse record. */
            record?: (log.v1.Record.$Properties|null);

            /** ConsumeResponse records. */
            records: log.v1.Record.$Properties[];

            /**
             * Creates a new ConsumeResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ConsumeResponse instance
             */
            static create(properties: log.v1.ConsumeResponse.$Shape): log.v1.ConsumeResponse & log.v1.ConsumeResponse.$Shape;
            static create(properties?: log.v1.ConsumeResponse.$Properties): log.v1.ConsumeResponse;

            /**
             * Encodes the specified ConsumeResponse message. Does not implicitly {@link log.v1.ConsumeResponse.verify|verify} messages.
             * @param message ConsumeResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: log.v1.ConsumeResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ConsumeResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {log.v1.ConsumeResponse & log.v1.ConsumeResponse.$Shape} ConsumeResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): log.v1.ConsumeResponse & log.v1.ConsumeResponse.$Shape;

            /**
             * Gets the type url for ConsumeResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace ConsumeResponse {

            /** Properties of a ConsumeResponse. */
            interface $Properties {

                /** ConsumeResponse record */
                record?: (log.v1.Record.$Properties|null);

                /** ConsumeResponse records */
                records?: (log.v1.Record.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ConsumeResponse. */
            type $Shape = log.v1.ConsumeResponse.$Properties;
        }

        /**
         * Properties of a GetServersRequest.
         * @deprecated Use log.v1.GetServersRequest.$Properties instead.
         */
        interface IGetServersRequest extends log.v1.GetServersRequest.$Properties {
        }

        /** Represents a GetServersRequest. */
        class GetServersRequest {

            /**
             * Constructs a new GetServersRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: log.v1.GetServersRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /**
             * Creates a new GetServersRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns GetServersRequest instance
             */
            static create(properties: log.v1.GetServersRequest.$Shape): log.v1.GetServersRequest & log.v1.GetServersRequest.$Shape;
            static create(properties?: log.v1.GetServersRequest.$Properties): log.v1.GetServersRequest;

            /**
             * Encodes the specified GetServersRequest message. Does not implicitly {@link log.v1.GetServersRequest.verify|verify} messages.
             * @param message GetServersRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: log.v1.GetServersRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a GetServersRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {log.v1.GetServersRequest & log.v1.GetServersRequest.$Shape} GetServersRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): log.v1.GetServersRequest & log.v1.GetServersRequest.$Shape;

            /**
             * Gets the type url for GetServersRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace GetServersRequest {

            /** Properties of a GetServersRequest. */
            interface $Properties {

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a GetServersRequest. */
            type $Shape = log.v1.GetServersRequest.$Properties;
        }

        /**
         * Properties of a GetServersResponse.
         * @deprecated Use log.v1.GetServersResponse.$Properties instead.
         */
        interface IGetServersResponse extends log.v1.GetServersResponse.$Properties {
        }

        /** Represents a GetServersResponse. */
        class GetServersResponse {

            /**
             * Constructs a new GetServersResponse.
             * @param [properties] Properties to set
             */
            constructor(properties?: log.v1.GetServersResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** GetServersResponse servers. */
            servers: log.v1.Server.$Properties[];

            /**
             * Creates a new GetServersResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns GetServersResponse instance
             */
            static create(properties: log.v1.GetServersResponse.$Shape): log.v1.GetServersResponse & log.v1.GetServersResponse.$Shape;
            static create(properties?: log.v1.GetServersResponse.$Properties): log.v1.GetServersResponse;

            /**
             * Encodes the specified GetServersResponse message. Does not implicitly {@link log.v1.GetServersResponse.verify|verify} messages.
             * @param message GetServersResponse message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: log.v1.GetServersResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a GetServersResponse message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {log.v1.GetServersResponse & log.v1.GetServersResponse.$Shape} GetServersResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): log.v1.GetServersResponse & log.v1.GetServersResponse.$Shape;

            /**
             * Gets the type url for GetServersResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace GetServersResponse {

            /** Properties of a GetServersResponse. */
            interface $Properties {

                /** GetServersResponse servers */
                servers?: (log.v1.Server.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a GetServersResponse. */
            type $Shape = log.v1.GetServersResponse.$Properties;
        }

        /**
         * Properties of a Server.
         * @deprecated Use log.v1.Server.$Properties instead.
         */
        interface IServer extends log.v1.Server.$Properties {
        }

        /** Represents a Server. */
        class Server {

            /**
             * Constructs a new Server.
             * @param [properties] Properties to set
             */
            constructor(properties?: log.v1.Server.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Server id. */
            id: string;

            /** Server rpcAddr. */
            rpcAddr: string;

            /** Server isLeader. */
            isLeader: boolean;

            /**
             * Creates a new Server instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Server instance
             */
            static create(properties: log.v1.Server.$Shape): log.v1.Server & log.v1.Server.$Shape;
            static create(properties?: log.v1.Server.$Properties): log.v1.Server;

            /**
             * Encodes the specified Server message. Does not implicitly {@link log.v1.Server.verify|verify} messages.
             * @param message Server message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: log.v1.Server.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Server message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {log.v1.Server & log.v1.Server.$Shape} Server
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): log.v1.Server & log.v1.Server.$Shape;

            /**
             * Gets the type url for Server
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Server {

            /** Properties of a Server. */
            interface $Properties {

                /** Server id */
                id?: (string|null);

                /** Server rpcAddr */
                rpcAddr?: (string|null);

                /** Server isLeader */
                isLeader?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Server. */
            type $Shape = log.v1.Server.$Properties;
        }
    }
}

/** Namespace grpc. */
export namespace grpc {

    /** Namespace health. */
    namespace health {

        /** Namespace v1. */
        namespace v1 {

            /**
             * Properties of a HealthCheckRequest.
             * @deprecated Use grpc.health.v1.HealthCheckRequest.$Properties instead.
             */
            interface IHealthCheckRequest extends grpc.health.v1.HealthCheckRequest.$Properties {
            }

            /** Represents a HealthCheckRequest. */
            class HealthCheckRequest {

                /**
                 * Constructs a new HealthCheckRequest.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: grpc.health.v1.HealthCheckRequest.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** HealthCheckRequest service. */
                service: string;

                /**
                 * Creates a new HealthCheckRequest instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns HealthCheckRequest instance
                 */
                static create(properties: grpc.health.v1.HealthCheckRequest.$Shape): grpc.health.v1.HealthCheckRequest & grpc.health.v1.HealthCheckRequest.$Shape;
                static create(properties?: grpc.health.v1.HealthCheckRequest.$Properties): grpc.health.v1.HealthCheckRequest;

                /**
                 * Encodes the specified HealthCheckRequest message. Does not implicitly {@link grpc.health.v1.HealthCheckRequest.verify|verify} messages.
                 * @param message HealthCheckRequest message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: grpc.health.v1.HealthCheckRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes a HealthCheckRequest message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {grpc.health.v1.HealthCheckRequest & grpc.health.v1.HealthCheckRequest.$Shape} HealthCheckRequest
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): grpc.health.v1.HealthCheckRequest & grpc.health.v1.HealthCheckRequest.$Shape;

                /**
                 * Gets the type url for HealthCheckRequest
                 * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
                 * @returns The type url
                 */
                static getTypeUrl(prefix?: string): string;
            }

            namespace HealthCheckRequest {

                /** Properties of a HealthCheckRequest. */
                interface $Properties {

                    /** HealthCheckRequest service */
                    service?: (string|null);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Shape of a HealthCheckRequest. */
                type $Shape = grpc.health.v1.HealthCheckRequest.$Properties;
            }

            /**
             * Properties of a HealthCheckResponse.
             * @deprecated Use grpc.health.v1.HealthCheckResponse.$Properties instead.
             */
            interface IHealthCheckResponse extends grpc.health.v1.HealthCheckResponse.$Properties {
            }

            /** Represents a HealthCheckResponse. */
            class HealthCheckResponse {

                /**
                 * Constructs a new HealthCheckResponse.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: grpc.health.v1.HealthCheckResponse.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** HealthCheckResponse status. */
                status: grpc.health.v1.HealthCheckResponse.ServingStatus;

                /**
                 * Creates a new HealthCheckResponse instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns HealthCheckResponse instance
                 */
                static create(properties: grpc.health.v1.HealthCheckResponse.$Shape): grpc.health.v1.HealthCheckResponse & grpc.health.v1.HealthCheckResponse.$Shape;
                static create(properties?: grpc.health.v1.HealthCheckResponse.$Properties): grpc.health.v1.HealthCheckResponse;

                /**
                 * Encodes the specified HealthCheckResponse message. Does not implicitly {@link grpc.health.v1.HealthCheckResponse.verify|verify} messages.
                 * @param message HealthCheckResponse message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: grpc.health.v1.HealthCheckResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes a HealthCheckResponse message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {grpc.health.v1.HealthCheckResponse & grpc.health.v1.HealthCheckResponse.$Shape} HealthCheckResponse
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): grpc.health.v1.HealthCheckResponse & grpc.health.v1.HealthCheckResponse.$Shape;

                /**
                 * Gets the type url for HealthCheckResponse
                 * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
                 * @returns The type url
                 */
                static getTypeUrl(prefix?: string): string;
            }

            namespace HealthCheckResponse {

                /** Properties of a HealthCheckResponse. */
                interface $Properties {

                    /** HealthCheckResponse status */
                    status?: (grpc.health.v1.HealthCheckResponse.ServingStatus|null);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Shape of a HealthCheckResponse. */
                type $Shape = grpc.health.v1.HealthCheckResponse.$Properties;

                /** ServingStatus enum. */
                enum ServingStatus {

                    /** UNKNOWN value */
                    UNKNOWN = 0,

                    /** SERVING value */
                    SERVING = 1,

                    /** NOT_SERVING value */
                    NOT_SERVING = 2,

                    /** SERVICE_UNKNOWN value */
                    SERVICE_UNKNOWN = 3
                }
            }
        }
    }
}
