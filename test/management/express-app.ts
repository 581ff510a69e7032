import { createServer } from 'node:http'
import express from 'express'
import { authenticate, managementRouter, type KeywardRequest } from '../../adapters/express.js'
import { listen } from '../adapters/support.js'
import type { StartManagementApp } from './contract.js'

/** The contract's application on Express: the routes under /admin, /admin/health, /api/ping. */
export const startExpress: StartManagementApp = (kw, options) => {
  const app = express()
  app.use('/admin', managementRouter(kw, options))
  app.get('/admin/health', (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/api/ping', authenticate(kw), (req, res) => {
    res.json({ keyId: (req as KeywardRequest).auth?.keyId })
  })
  return listen(createServer(app))
}
