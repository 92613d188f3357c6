// Prints an XLSX workbook as JSON, read with exceljs (not the library that
// wrote it): {"sheets": [{"name", "rows": [[{"type", "value"}, …], …]}]}.
// type is exceljs' value type: "number", "string", "boolean", "date",
// "formula", "richtext", "null", …; value is the cell's value as exceljs
// reads it (rich text joined into one string, a formula as {formula}).
//
//   node tools/export-interop/read-xlsx.mjs FILE.xlsx
import ExcelJS from "exceljs";

const names = Object.fromEntries(Object.entries(ExcelJS.ValueType).map(([k, v]) => [v, k.toLowerCase()]));

const file = process.argv[2];
if (!file) {
  console.error("usage: node read-xlsx.mjs FILE.xlsx");
  process.exit(2);
}
const wb = new ExcelJS.Workbook();
await wb.xlsx.readFile(file);
const out = { sheets: [] };
wb.eachSheet((ws) => {
  const rows = [];
  for (let r = 1; r <= ws.rowCount; r++) {
    const row = ws.getRow(r);
    const cells = [];
    for (let c = 1; c <= ws.columnCount; c++) {
      const cell = row.getCell(c);
      let value = cell.value;
      if (value && typeof value === "object" && Array.isArray(value.richText)) {
        value = value.richText.map((t) => t.text).join("");
      }
      cells.push({ type: names[cell.type] ?? String(cell.type), value });
    }
    rows.push(cells);
  }
  out.sheets.push({ name: ws.name, rows });
});
process.stdout.write(JSON.stringify(out));
