// The hardware hash as a QR code (ISO/IEC 18004), for a technician's phone: the symbol from the
// qrcode library, drawn here as one SVG path with the four-module quiet zone the standard asks for.
import QRCode from 'qrcode';

export interface QrSymbol {
  size: number;
  /** Row-major, true = dark module. */
  dark: (row: number, column: number) => boolean;
}

export function qrSymbol(text: string): QrSymbol {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  return { size: modules.size, dark: (row, column) => Boolean(modules.get(row, column)) };
}

const QUIET = 4;

/** An SVG document: black modules on white, one unit per module. */
export function qrSvg(text: string): string {
  const symbol = qrSymbol(text);
  const total = symbol.size + 2 * QUIET;
  let path = '';
  for (let row = 0; row < symbol.size; row++) {
    for (let column = 0; column < symbol.size; column++) {
      if (symbol.dark(row, column)) path += `M${column + QUIET} ${row + QUIET}h1v1h-1z`;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${total} ${total}" shape-rendering="crispEdges"><rect width="${total}" height="${total}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`;
}
