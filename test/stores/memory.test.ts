import { MemoryTokenStore } from '../../src/index.js'
import { describeTokenStoreConformance } from './conformance.js'

describeTokenStoreConformance('MemoryTokenStore', async () => {
  const store = new MemoryTokenStore()
  // Two keyward instances in one process may share one memory store: that is its "other instance".
  return { store, close: async () => {}, peer: async () => store }
})
