"""The product catalogue and the locations (stores, warehouses), in Japanese and English."""
