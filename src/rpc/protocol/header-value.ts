// A request header's one value: node gives a header sent more than once as a list, which reads
// as HTTP's own comma-joined form.
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}
