// `oms account …`, `oms order …`, `oms assets` and `oms admin …`: a small client for people,
// printing the server's answers as Connect JSON (assets as a table unless --json). Every call
// presents the API key from --api-key or OMS_API_KEY; with an account's key --account may be
// left out (the key implies it).
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { AccountService } from "../gen/oms/v1/account_service_pb.ts";
import { AssetService, type Asset } from "../gen/oms/v1/asset_service_pb.ts";
import { OrderService, OrderStatusFilter, StreamTradeUpdatesResponseSchema } from "../gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../gen/oms/v1/trading_pb.ts";
import { createClientTransport } from "../rpc/transport.ts";
import type { CheckedOption, CommandArgs, CommandSpec, OptionSpec } from "./command-spec.ts";
import { apiKey, choice, dollarPrice, serverUrl, serverUrlFromEnv, wholeNumber, wholeShares } from "./option-values.ts";
import { EXIT_FAILED, UsageError } from "./usage-error.ts";

const SERVER_DEFAULT = "http://127.0.0.1:8080";
const SIDES: Record<string, Side> = { buy: Side.BUY, sell: Side.SELL };
const TYPES: Record<string, OrderType> = { market: OrderType.MARKET, limit: OrderType.LIMIT, stop: OrderType.STOP, stop_limit: OrderType.STOP_LIMIT };
const TIFS: Record<string, TimeInForce> = { day: TimeInForce.DAY, gtc: TimeInForce.GTC, ioc: TimeInForce.IOC, fok: TimeInForce.FOK };
const FILTERS: Record<string, OrderStatusFilter> = { open: OrderStatusFilter.OPEN, closed: OrderStatusFilter.CLOSED, all: OrderStatusFilter.ALL };

const option = (name: string, value: string, help: string): OptionSpec => ({ name, kind: "string", value, help });
function checked<T>(name: string, value: string, help: string, check: (flag: string, text: string) => T): CheckedOption<T> {
  return { name, kind: "string", value, help, check };
}
const oneOf =
  <T>(table: Readonly<Record<string, T>>) =>
  (flag: string, text: string): T =>
    choice(flag, text, table);
const SERVER = checked("server", "URL", `the balancer to call (default $OMS_SERVER, else ${SERVER_DEFAULT})`, serverUrl);
const API_KEY = checked("api-key", "ID:SECRET", "the API key to call with (default $OMS_API_KEY; oms dev prints one)", apiKey);
const ACCOUNT = option("account", "ID", "the account (default: the API key's own account)");
const ORDER_ID = option("id", "ORDER_ID", "the order's id, as submit printed it");
const CLIENT_ORDER_ID = option("client-order-id", "KEY", "your own key for the order (resubmitting it with the same content is safe)");
const QTY = checked("qty", "N", "whole shares, like 10", wholeShares);
const LIMIT = checked("limit", "PRICE", "limit price in dollars, like 189.25 (limit and stop_limit orders)", dollarPrice);
const STOP = checked("stop", "PRICE", "stop price in dollars (stop and stop_limit orders)", dollarPrice);
const TIF = checked("tif", "day|gtc|ioc|fok", "time in force (default day)", oneOf(TIFS));
const SIDE = checked("side", "buy|sell", "buy or sell", oneOf(SIDES));
const TYPE = checked("type", "market|limit|stop|stop_limit", "order type (default market)", oneOf(TYPES));
const STATUS = checked("status", "open|closed|all", "which orders (default open)", oneOf(FILTERS));
const PAGE_SIZE = checked("page-size", "N", "orders per page, 1 to 500 (default: the server's)", (flag, text) => wholeNumber(flag, text, 1, "100"));

/** Calls the server named by --server with the key of --api-key; a refusal or an unreachable server is exit code 1. */
export function clientCommand(
  spec: Omit<CommandSpec, "section" | "options" | "run"> & { options: readonly OptionSpec[] },
  call: (args: CommandArgs, transport: Transport) => Promise<void>,
): CommandSpec {
  return {
    ...spec,
    section: "client",
    options: [...spec.options, SERVER, API_KEY],
    run: async (args) => {
      const fromEnv = process.env.OMS_SERVER;
      // An empty OMS_SERVER is as good as none.
      const server = args.checked(SERVER) ?? (fromEnv === undefined || fromEnv === "" ? SERVER_DEFAULT : serverUrlFromEnv("OMS_SERVER", fromEnv, args.command));
      const keyFromEnv = process.env.OMS_API_KEY;
      const key = args.checked(API_KEY) ?? (keyFromEnv === undefined || keyFromEnv === "" ? undefined : apiKey("OMS_API_KEY", keyFromEnv));
      try {
        await call(args, createClientTransport(server, "connect", key === undefined ? {} : { apiKey: key }));
        return 0;
      } catch (error) {
        if (error instanceof UsageError) throw error;
        const refusal = ConnectError.from(error);
        const hint =
          refusal.code === Code.Unavailable
            ? ` (server ${server}: is oms dev running? --server or OMS_SERVER names another)`
            : refusal.code === Code.Unauthenticated && key === undefined
              ? " (--api-key ID:SECRET or OMS_API_KEY: oms dev prints one at start)"
              : "";
        console.error(`oms: ${refusal.message}${hint}`);
        return EXIT_FAILED;
      }
    },
  };
}

function print<D extends DescMessage>(schema: D, message: MessageShape<D>): void {
  console.log(JSON.stringify(toJson(schema, message), null, 2));
}

export const CLIENT_COMMANDS: readonly CommandSpec[] = [
  clientCommand(
    { name: "account get", summary: "cash, reserved cash, buying power and equity", synopsis: "[--account ID]", options: [ACCOUNT] },
    async (args, transport) => {
      print(AccountService.method.getAccount.output, await createClient(AccountService, transport).getAccount({ accountId: args.string("account") ?? "" }));
    },
  ),
  clientCommand(
    { name: "account positions", summary: "the shares an account holds, by symbol", synopsis: "[--account ID]", options: [ACCOUNT] },
    async (args, transport) => {
      print(AccountService.method.listPositions.output, await createClient(AccountService, transport).listPositions({ accountId: args.string("account") ?? "" }));
    },
  ),
  clientCommand(
    {
      name: "order submit",
      summary: "place an order",
      synopsis: "[--account ID] --symbol SYMBOL --side buy|sell --qty N [--type TYPE] [--tif TIF] [--limit PRICE] [--stop PRICE] [--client-order-id KEY]",
      details: "oms assets lists the symbols and their prices. The order is answered once the log has it; fills come later (oms order get, oms order stream).",
      options: [
        ACCOUNT,
        option("symbol", "SYMBOL", "what to trade, like AAPL"),
        SIDE,
        QTY,
        TYPE,
        TIF,
        LIMIT,
        STOP,
        CLIENT_ORDER_ID,
      ],
    },
    async (args, transport) => {
      const request = {
        accountId: args.string("account") ?? "",
        symbol: args.required("symbol"),
        side: args.checked(SIDE) ?? missing(args, "side"),
        qty: args.required("qty"),
        type: args.checked(TYPE) ?? OrderType.MARKET,
        timeInForce: args.checked(TIF) ?? TimeInForce.DAY,
        limitPrice: args.string("limit") ?? "",
        stopPrice: args.string("stop") ?? "",
        clientOrderId: args.string("client-order-id") ?? "",
      };
      print(OrderService.method.submitOrder.output, await createClient(OrderService, transport).submitOrder(request));
    },
  ),
  clientCommand(
    { name: "order get", summary: "one order, by its id or your key", synopsis: "[--account ID] (--id ORDER_ID | --client-order-id KEY)", options: [ACCOUNT, ORDER_ID, CLIENT_ORDER_ID] },
    async (args, transport) => {
      const accountId = args.string("account") ?? "";
      const id = args.string("id");
      const key = args.string("client-order-id");
      if ((id === undefined) === (key === undefined)) throw new UsageError("give one of --id and --client-order-id", args.command);
      const lookup = id !== undefined ? { case: "orderId" as const, value: id } : { case: "clientOrderId" as const, value: key ?? "" };
      print(OrderService.method.getOrder.output, await createClient(OrderService, transport).getOrder({ accountId, key: lookup }));
    },
  ),
  clientCommand(
    {
      name: "order list",
      summary: "an account's orders, newest first, a page at a time",
      synopsis: "[--account ID] [--status open|closed|all] [--page-size N] [--page-token TOKEN]",
      options: [
        ACCOUNT,
        STATUS,
        PAGE_SIZE,
        option("page-token", "TOKEN", "the nextPageToken of the page before"),
      ],
    },
    async (args, transport) => {
      const request = {
        accountId: args.string("account") ?? "",
        status: args.checked(STATUS) ?? OrderStatusFilter.OPEN,
        pageSize: args.checked(PAGE_SIZE) ?? 0,
        pageToken: args.string("page-token") ?? "",
      };
      print(OrderService.method.listOrders.output, await createClient(OrderService, transport).listOrders(request));
    },
  ),
  clientCommand(
    { name: "order cancel", summary: "ask for an open order to be canceled", synopsis: "[--account ID] --id ORDER_ID", options: [ACCOUNT, ORDER_ID] },
    async (args, transport) => {
      const request = { accountId: args.string("account") ?? "", orderId: args.required("id") };
      print(OrderService.method.cancelOrder.output, await createClient(OrderService, transport).cancelOrder(request));
    },
  ),
  clientCommand(
    {
      name: "order replace",
      summary: "replace an open order with a new one (new id; the old one ends replaced)",
      synopsis: "[--account ID] --id ORDER_ID [--qty N] [--limit PRICE] [--stop PRICE] [--tif TIF] [--client-order-id KEY]",
      details: "What is not given is kept from the order replaced.",
      options: [ACCOUNT, ORDER_ID, QTY, LIMIT, STOP, TIF, CLIENT_ORDER_ID],
    },
    async (args, transport) => {
      const request = {
        accountId: args.string("account") ?? "",
        orderId: args.required("id"),
        qty: args.string("qty") ?? "",
        limitPrice: args.string("limit") ?? "",
        stopPrice: args.string("stop") ?? "",
        timeInForce: args.checked(TIF) ?? TimeInForce.UNSPECIFIED,
        clientOrderId: args.string("client-order-id") ?? "",
      };
      print(OrderService.method.replaceOrder.output, await createClient(OrderService, transport).replaceOrder(request));
    },
  ),
  clientCommand(
    { name: "order stream", summary: "print an account's order events as they happen, one JSON line each, until Ctrl-C", synopsis: "[--account ID]", options: [ACCOUNT] },
    async (args, transport) => {
      const updates = createClient(OrderService, transport).streamTradeUpdates({ accountId: args.string("account") ?? "" }, { timeoutMs: 0 });
      for await (const response of updates) console.log(JSON.stringify(toJson(StreamTradeUpdatesResponseSchema, response)));
    },
  ),
  clientCommand(
    {
      name: "assets",
      summary: "the symbols you can trade, with their latest bid, ask and last price",
      synopsis: "[--json]",
      options: [{ name: "json", kind: "boolean", help: "print the server's answer as JSON instead of a table" }],
    },
    async (args, transport) => {
      const answer = await createClient(AssetService, transport).listAssets({});
      if (args.flag("json")) print(AssetService.method.listAssets.output, answer);
      else console.log(assetTable(answer.assets));
    },
  ),
];

export function missing(args: CommandArgs, name: string): never {
  throw new UsageError(`--${name} is required`, args.command);
}

/** SYMBOL BID ASK LAST, each price column lined up on its decimal point. */
export function assetTable(assets: readonly Asset[]): string {
  const symbols = ["SYMBOL", ...assets.map((asset) => asset.symbol)];
  const columns = [
    symbols.map((symbol) => symbol.padEnd(Math.max(...symbols.map((s) => s.length)))),
    priceColumn("BID", assets.map((asset) => asset.quote?.bidPrice ?? "")),
    priceColumn("ASK", assets.map((asset) => asset.quote?.askPrice ?? "")),
    priceColumn("LAST", assets.map((asset) => asset.quote?.lastPrice ?? "")),
  ];
  return symbols.map((_, row) => columns.map((column) => column[row] ?? "").join("  ").trimEnd()).join("\n");
}

/** Cents always shown ("189.40"); sub-dollar prices keep their four decimals. */
const SHOWN_DECIMALS_MIN = 2;

function priceColumn(header: string, prices: readonly string[]): string[] {
  const parts = prices.map((price) => {
    if (price === "") return ["", ""];
    const point = price.indexOf(".");
    const [whole, decimals] = point < 0 ? [price, ""] : [price.slice(0, point), price.slice(point + 1)];
    return [whole, `.${decimals.padEnd(SHOWN_DECIMALS_MIN, "0")}`];
  });
  const whole = Math.max(0, ...parts.map(([w]) => (w ?? "").length));
  const fraction = Math.max(0, ...parts.map(([, f]) => (f ?? "").length));
  const cells = parts.map(([w, f]) => (w ?? "").padStart(whole) + (f ?? "").padEnd(fraction));
  const width = Math.max(header.length, whole + fraction);
  return [header.padStart(width), ...cells.map((cell) => cell.padStart(width))];
}
