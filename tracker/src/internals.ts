/** Everything the unit tests exercise (bundled for node; not served). */
export * from "./consent";
export * from "./delivery";
export * from "./detectors";
export * from "./linker";
export * from "./util";
export * from "./navigation";
