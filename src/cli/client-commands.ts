// `oms account …` and `oms order …`: a small client for people, printing Connect JSON.
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { parseArgs } from "node:util";
import { AccountService } from "../gen/oms/v1/account_service_pb.ts";
import { OrderService, OrderStatusFilter, StreamTradeUpdatesResponseSchema } from "../gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../gen/oms/v1/trading_pb.ts";
import { createClientTransport } from "../rpc/transport.ts";

const SIDES: Record<string, Side> = { buy: Side.BUY, sell: Side.SELL };
const TYPES: Record<string, OrderType> = {
  market: OrderType.MARKET,
  limit: OrderType.LIMIT,
  stop: OrderType.STOP,
  stop_limit: OrderType.STOP_LIMIT,
};
const TIFS: Record<string, TimeInForce> = { day: TimeInForce.DAY, gtc: TimeInForce.GTC, ioc: TimeInForce.IOC, fok: TimeInForce.FOK };
const FILTERS: Record<string, OrderStatusFilter> = { open: OrderStatusFilter.OPEN, closed: OrderStatusFilter.CLOSED, all: OrderStatusFilter.ALL };

const OPTIONS = {
  server: { type: "string" },
  account: { type: "string" },
  id: { type: "string" },
  amount: { type: "string" },
  symbol: { type: "string" },
  side: { type: "string" },
  type: { type: "string", default: "market" },
  tif: { type: "string", default: "day" },
  qty: { type: "string" },
  limit: { type: "string" },
  stop: { type: "string" },
  "client-order-id": { type: "string" },
  status: { type: "string", default: "open" },
  "page-size": { type: "string" },
  "page-token": { type: "string" },
} as const;

export const CLIENT_USAGE = `client commands (against --server, default $OMS_SERVER or http://127.0.0.1:8080):
  oms account create [--id ID]
  oms account deposit --account ID --amount 1000.00
  oms account get --account ID
  oms account positions --account ID
  oms order submit --account ID --symbol AAPL --side buy --qty 10 [--type market|limit|stop|stop_limit]
                   [--tif day|gtc|ioc|fok] [--limit PRICE] [--stop PRICE] [--client-order-id KEY]
  oms order get --account ID (--id ORDER_ID | --client-order-id KEY)
  oms order list --account ID [--status open|closed|all] [--page-size N] [--page-token T]
  oms order cancel --account ID --id ORDER_ID
  oms order replace --account ID --id ORDER_ID [--qty N] [--limit PRICE] [--stop PRICE] [--tif TIF]
  oms order stream --account ID`;

export async function runClientCommand(group: string, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  const server = values.server ?? process.env.OMS_SERVER ?? "http://127.0.0.1:8080";
  const transport = createClientTransport(server, "connect");
  const accounts = createClient(AccountService, transport);
  const orders = createClient(OrderService, transport);
  const account = values.account ?? "";
  const print = <D extends DescMessage>(schema: D, message: MessageShape<D>) => console.log(JSON.stringify(toJson(schema, message), null, 2));
  const pick = <T>(table: Record<string, T>, key: string, flag: string): T => {
    const value = table[key];
    if (value === undefined) throw new UsageError(`--${flag} must be one of ${Object.keys(table).join(", ")}`);
    return value;
  };
  const action = `${group} ${positionals[0] ?? ""}`;
  try {
    switch (action) {
      case "account create":
        print(AccountService.method.createAccount.output, await accounts.createAccount({ accountId: values.id ?? "" }));
        return 0;
      case "account deposit":
        print(AccountService.method.deposit.output, await accounts.deposit({ accountId: account, amount: values.amount ?? "" }));
        return 0;
      case "account get":
        print(AccountService.method.getAccount.output, await accounts.getAccount({ accountId: account }));
        return 0;
      case "account positions":
        print(AccountService.method.listPositions.output, await accounts.listPositions({ accountId: account }));
        return 0;
      case "order submit":
        print(
          OrderService.method.submitOrder.output,
          await orders.submitOrder({
            accountId: account,
            clientOrderId: values["client-order-id"] ?? "",
            symbol: values.symbol ?? "",
            side: pick(SIDES, values.side ?? "", "side"),
            type: pick(TYPES, values.type, "type"),
            timeInForce: pick(TIFS, values.tif, "tif"),
            qty: values.qty ?? "",
            limitPrice: values.limit ?? "",
            stopPrice: values.stop ?? "",
          }),
        );
        return 0;
      case "order get": {
        const key = values.id !== undefined ? { case: "orderId" as const, value: values.id } : { case: "clientOrderId" as const, value: values["client-order-id"] ?? "" };
        print(OrderService.method.getOrder.output, await orders.getOrder({ accountId: account, key }));
        return 0;
      }
      case "order list":
        print(
          OrderService.method.listOrders.output,
          await orders.listOrders({
            accountId: account,
            status: pick(FILTERS, values.status, "status"),
            pageSize: Number(values["page-size"] ?? 0),
            pageToken: values["page-token"] ?? "",
          }),
        );
        return 0;
      case "order cancel":
        print(OrderService.method.cancelOrder.output, await orders.cancelOrder({ accountId: account, orderId: values.id ?? "" }));
        return 0;
      case "order replace":
        print(
          OrderService.method.replaceOrder.output,
          await orders.replaceOrder({
            accountId: account,
            orderId: values.id ?? "",
            qty: values.qty ?? "",
            limitPrice: values.limit ?? "",
            stopPrice: values.stop ?? "",
            timeInForce: args.includes("--tif") ? pick(TIFS, values.tif, "tif") : TimeInForce.UNSPECIFIED,
            clientOrderId: values["client-order-id"] ?? "",
          }),
        );
        return 0;
      case "order stream":
        for await (const response of orders.streamTradeUpdates({ accountId: account }, { timeoutMs: 0 })) {
          console.log(JSON.stringify(toJson(StreamTradeUpdatesResponseSchema, response)));
        }
        return 0;
      default:
        throw new UsageError(`unknown command "oms ${action.trim()}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`oms: ${error.message}\n\n${CLIENT_USAGE}`);
      return 2;
    }
    const connectError = ConnectError.from(error);
    console.error(`oms: ${connectError.message}`);
    return 1;
  }
}

class UsageError extends Error {}
