package com.example.inventory;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * inventory-service: a stock-keeping JSON API on the JDK's built-in HTTP server.
 *
 * <pre>
 *   GET  /                      service info
 *   GET  /items                 all items
 *   GET  /items/{sku}           one item
 *   PUT  /items/{sku}           create or replace: {"name": ..., "quantity": 3, "reorderLevel": 1}
 *   POST /items/{sku}/adjust    {"delta": -2}
 *   GET  /reorder               items at or below their reorder level
 * </pre>
 */
public final class InventoryServer {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private final Inventory inventory;

    InventoryServer(Inventory inventory) {
        this.inventory = inventory;
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        Inventory inventory = new Inventory();
        inventory.put(new Item("BOLT-M6", "M6 hex bolt", 420, 100));
        inventory.put(new Item("NUT-M6", "M6 nut", 80, 100));
        inventory.put(new Item("WASHER-6", "6 mm washer", 1000, 200));

        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        InventoryServer app = new InventoryServer(inventory);
        server.createContext("/", app::handle);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        System.out.println("inventory-service " + version() + " listening on port " + port);
    }

    static String version() {
        String version = InventoryServer.class.getPackage().getImplementationVersion();
        return version != null ? version : "dev";
    }

    void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String[] parts = exchange.getRequestURI().getPath().replaceAll("^/+|/+$", "").split("/");
        try {
            if (parts.length == 1 && parts[0].isEmpty() && method.equals("GET")) {
                Map<String, Object> info = new LinkedHashMap<>();
                info.put("service", "inventory-service");
                info.put("message", "hello from inventory-service");
                info.put("java", System.getProperty("java.version"));
                info.put("items", inventory.all().size());
                send(exchange, 200, info);
            } else if (parts[0].equals("items") && parts.length == 1 && method.equals("GET")) {
                send(exchange, 200, inventory.all());
            } else if (parts[0].equals("items") && parts.length == 2 && method.equals("GET")) {
                sendOrNotFound(exchange, inventory.get(parts[1]).orElse(null), parts[1]);
            } else if (parts[0].equals("items") && parts.length == 2 && method.equals("PUT")) {
                Item item = GSON.fromJson(body(exchange), Item.class);
                if (item == null) {
                    item = new Item();
                }
                item.sku = parts[1];
                send(exchange, 200, inventory.put(item));
            } else if (parts[0].equals("items") && parts.length == 3 && parts[2].equals("adjust")
                    && method.equals("POST")) {
                JsonObject request = GSON.fromJson(body(exchange), JsonObject.class);
                int delta = request != null && request.has("delta") ? request.get("delta").getAsInt() : 0;
                sendOrNotFound(exchange, inventory.adjust(parts[1], delta).orElse(null), parts[1]);
            } else if (parts[0].equals("reorder") && parts.length == 1 && method.equals("GET")) {
                send(exchange, 200, inventory.toReorder());
            } else {
                send(exchange, 404, Map.of("error", "no route for " + method + " " + exchange.getRequestURI()));
            }
        } catch (IllegalArgumentException | JsonParseException e) {
            send(exchange, 400, Map.of("error", String.valueOf(e.getMessage())));
        } catch (RuntimeException e) {
            e.printStackTrace();
            send(exchange, 500, Map.of("error", "internal error"));
        }
    }

    private static Reader body(HttpExchange exchange) {
        return new InputStreamReader(exchange.getRequestBody(), StandardCharsets.UTF_8);
    }

    private static void sendOrNotFound(HttpExchange exchange, Item item, String sku) throws IOException {
        if (item == null) {
            send(exchange, 404, Map.of("error", "no item " + sku));
        } else {
            send(exchange, 200, item);
        }
    }

    private static void send(HttpExchange exchange, int status, Object payload) throws IOException {
        byte[] bytes = (GSON.toJson(payload) + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
