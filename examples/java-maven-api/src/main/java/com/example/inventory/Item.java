package com.example.inventory;

/** One stock-keeping unit: what it is, how many are in stock, and when to reorder. */
public final class Item {
    String sku;
    String name;
    int quantity;
    int reorderLevel;

    Item() {}

    Item(String sku, String name, int quantity, int reorderLevel) {
        this.sku = sku;
        this.name = name;
        this.quantity = quantity;
        this.reorderLevel = reorderLevel;
    }

    boolean needsReorder() {
        return quantity <= reorderLevel;
    }
}
