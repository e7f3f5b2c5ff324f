// Express 4 under another name, for the tests that run the documented pattern on both majors.
declare module "express4" {
  import express from "express";
  export default express;
}
