export { compressionType, type KafkaCompression } from "./client.ts";
export {
  isKafkaBatch,
  type KafkaBusBatch,
  type KafkaBusMessage,
  type KafkaSubscribeOptions,
} from "./consumer.ts";
export { type DeadLetter, deadLetterRecords, dlqTopic, PoisonMessageError } from "./dead-letters.ts";
export { KafkaBus, type KafkaBusOptions, type KafkaTopicSpec } from "./kafka-bus.ts";
export { mergePacked, type OutRecord, PACKED_CONTENT_TYPE, packRecords, plainRecords } from "./packed-records.ts";
export { murmur2, partitionOf } from "./partitioner.ts";
export { KafkaProducer, type KafkaProducerOptions } from "./producer.ts";
