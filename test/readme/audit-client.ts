// Stands in for the reader's audit service client in the README's custom destination example.
export const auditClient = {
  async write(_id: string, _payload: unknown): Promise<void> {},
};
