// The Date header of an HTTP/2 answer written on the stream itself, as Node's compatibility
// response sends it.

let dateSecond = -1;
let dateText = "";

/** The HTTP date, formatted once a second rather than once a call. */
export function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
