import { generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeBase64, derToRawSignature, importP256PublicKey, verifyEcdsaSignature } from '../../src/scanning/signature.js'

const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
const body = new TextEncoder().encode('[{"token":"x","type":"t"}]')
const der = nodeSign('sha256', body, { key: pair.privateKey, dsaEncoding: 'der' })
const raw = nodeSign('sha256', body, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' })

describe('ECDSA signatures (WebCrypto)', () => {
  it('verifies a DER signature of the exact bytes, and nothing else', async () => {
    const key = await importP256PublicKey(pem)
    expect(await verifyEcdsaSignature(key, der.toString('base64'), body)).toBe(true)
    const changed = body.slice()
    changed[2] = changed[2]! ^ 1
    expect(await verifyEcdsaSignature(key, der.toString('base64'), changed)).toBe(false)
    // The raw form is not what the host sends: refused rather than guessed at.
    expect(await verifyEcdsaSignature(key, raw.toString('base64'), body)).toBe(false)
    expect(await verifyEcdsaSignature(key, '', body)).toBe(false)
    expect(await verifyEcdsaSignature(key, 'not base64!', body)).toBe(false)
  })

  it('converts only strict DER: no trailing bytes, no wrong lengths, no needless zero padding', () => {
    expect(derToRawSignature(der)).not.toBeNull()
    expect(derToRawSignature(Buffer.concat([der, Buffer.from([0])]))).toBeNull()
    const badLength = Buffer.from(der)
    badLength[1] = badLength[1]! + 1
    expect(derToRawSignature(badLength)).toBeNull()
    // r = 1 written with a needless leading zero.
    expect(derToRawSignature(Buffer.from([0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]))).toBeNull()
    expect(derToRawSignature(Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))).toEqual(
      Uint8Array.from([...new Array(31).fill(0), 1, ...new Array(31).fill(0), 1]),
    )
    // A negative integer (high bit set without the zero) is not an ECDSA component.
    expect(derToRawSignature(Buffer.from([0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]))).toBeNull()
  })

  it('imports only a PEM public key of P-256', async () => {
    await expect(importP256PublicKey('MFkw')).rejects.toThrow(TypeError)
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    await expect(importP256PublicKey(rsa)).rejects.toThrow()
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    await expect(importP256PublicKey(p384)).rejects.toThrow()
  })

  it('decodes strict base64 only', () => {
    expect(decodeBase64('AQI=')).toEqual(Uint8Array.from([1, 2]))
    for (const bad of ['AQI', 'AQ I=', 'AQ==AQ==', '-_8=']) expect(decodeBase64(bad), bad).toBeNull()
  })
})
