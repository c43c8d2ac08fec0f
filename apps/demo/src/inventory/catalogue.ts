import type { StockItem } from './stock-item.entity.js';

/**
 * What a fresh demo database sells. Seeded once (existing SKUs are left alone, so a restart keeps
 * the stock levels). The monitor is scarce on purpose: order 4 to see the out-of-stock path.
 */
export const CATALOGUE: readonly StockItem[] = [
  { sku: 'KEYBOARD-MX', name: 'Mechanical keyboard', priceCents: 8900, available: 50 },
  { sku: 'MOUSE-PRO', name: 'Wireless mouse', priceCents: 3900, available: 100 },
  { sku: 'MONITOR-27', name: '27" monitor', priceCents: 24900, available: 3 },
  { sku: 'USB-C-CABLE', name: 'USB-C cable', priceCents: 900, available: 500 },
];
