// An error that the HTTP layer turns into `{"error": {"code", "message"}}` with a precise status.
export class ApiError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}
