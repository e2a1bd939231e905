package com.example.inventory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** The stock, in memory and safe for concurrent requests. */
public final class Inventory {
    private final ConcurrentMap<String, Item> items = new ConcurrentHashMap<>();

    public Item put(Item item) {
        if (item.sku == null || !item.sku.matches("[A-Z0-9-]{3,32}")) {
            throw new IllegalArgumentException("sku must be 3-32 characters of A-Z, 0-9 and -");
        }
        if (item.quantity < 0 || item.reorderLevel < 0) {
            throw new IllegalArgumentException("quantity and reorderLevel must not be negative");
        }
        if (item.name == null || item.name.isBlank()) {
            item.name = item.sku;
        }
        items.put(item.sku, item);
        return item;
    }

    public Optional<Item> get(String sku) {
        return Optional.ofNullable(items.get(sku));
    }

    /** Adds (or with a negative delta removes) stock; the new item, or empty for an unknown sku. */
    public Optional<Item> adjust(String sku, int delta) {
        Item updated = items.computeIfPresent(sku, (key, item) -> {
            int quantity = item.quantity + delta;
            if (quantity < 0) {
                throw new IllegalArgumentException("only " + item.quantity + " of " + sku + " in stock");
            }
            return new Item(item.sku, item.name, quantity, item.reorderLevel);
        });
        return Optional.ofNullable(updated);
    }

    public List<Item> all() {
        List<Item> out = new ArrayList<>(items.values());
        out.sort(Comparator.comparing(item -> item.sku));
        return out;
    }

    public List<Item> toReorder() {
        return all().stream().filter(Item::needsReorder).toList();
    }
}
