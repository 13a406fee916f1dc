import { SQSClient } from "@aws-sdk/client-sqs";

export interface SqsSettings {
  readonly region: string;
  /** Local cloud: the emulator's endpoint; production leaves it unset. */
  readonly endpoint?: string | undefined;
}

export function createSqsClient(settings: SqsSettings): SQSClient {
  return new SQSClient({
    region: settings.region,
    maxAttempts: 3,
    ...(settings.endpoint
      ? {
          endpoint: settings.endpoint,
          // The emulator does not check signatures; static values avoid a credential-chain lookup.
          credentials: { accessKeyId: "local", secretAccessKey: "local" },
        }
      : {}),
  });
}
